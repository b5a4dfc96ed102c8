"""``GET /api/environments`` at 1,000 and 10,000 environments, against the pre-watcher way.

Measured through real HTTP, with three processes so client work never runs on the server's
event loop:

* ``kubesim serve`` (a subprocess): the cluster;
* ``catalyst serve`` (a subprocess): the real API (uvicorn on 127.0.0.1, a free port) on a
  SQLite database (or PostgreSQL with ``--postgres URL``) seeded by this script with N
  environments whose values are Patchdemo's example body (api-contract.md); a real admin
  token;
* this script: the HTTP client and the pre-watcher reader.

This replica is kept from leading (the bench holds the coordination Lease with a long
duration) and the bench writes the watcher heartbeat itself every few seconds, as the
leader replica would: what is measured is the listing an API replica serves, not a watcher
competing for the 2 cores. ``--lead`` lets Catalyst lead and run its watcher instead.

Figures per N:

* **cached listing** (the service as built): ``--requests`` sequential requests after a
  warm-up → p50, p99, max; then ``--concurrency`` clients sharing ``--requests`` requests
  → requests/s. With ``--churn R``, a second run does R environment writes per second
  during the requests (what the watcher's status writes cost the listing).
* **pre-watcher** (how the list was served before the watcher): for every environment,
  ``EnvironmentReader.read_environment`` (1 namespace GET + 11 label-selected LISTs)
  through a ``ClusterClient`` limited to client-go's defaults (qps 5, burst 10). One such
  request at N = 1,000 takes ~40 minutes, so only ``--sample`` environments (objects
  created in kubesim for them) are read — MEASURED — and the time of a whole request at N
  is EXTRAPOLATED linearly (measured seconds per environment x N). The same sample is also
  read without the rate limit, to show the time is the client throttle, not the server.

Prints a table. Asserts nothing. Usage::

    .venv/bin/python bench/bench_list.py                       # N = 1,000 and 10,000
    .venv/bin/python bench/bench_list.py --sizes 1000 --requests 100 --postgres URL
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from sqlalchemy import insert, text, update
from sqlalchemy.engine import make_url

# The same per-environment objects the watcher-sync benchmark caches (bench/ is on sys.path
# when a bench script runs).
from bench_watcher_sync import environment_objects
from catalyst.cluster import ClusterClient, EnvironmentReader, TokenBucket
from catalyst.cluster.discovery import collection_path
from catalyst.store.database import Database, sqlite_url_for
from catalyst.store.heartbeat import HeartbeatRepository
from catalyst.store.schema import environments
from catalyst.store.tokens import TokenRepository
from kubesim.process import kubesim_process

VENV_BIN = Path(sys.executable).parent
CLIENT_GO_QPS = 5.0
CLIENT_GO_BURST = 10
HEARTBEAT_EVERY = 3.0
START_TIMEOUT = 120.0
SEED_CHUNK = 1000


# ------------------------------------------------------------------ figures


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


@dataclass
class HttpFigures:
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests_per_s: float
    body_bytes: int


@dataclass
class PreWatcherFigures:
    sample: int
    requests_per_environment: float
    throttled_s_per_environment: float
    unthrottled_s_per_environment: float


# ------------------------------------------------------------------ seeding


def patchdemo_values(i: int) -> dict[str, Any]:
    """Patchdemo's example request values (api-contract.md), varied per environment."""
    digest = secrets.token_hex(20)
    return {
        "mediawikiCore": {
            "branch": "master",
            "ingress": f"{digest[:10]}.example.org",
            "user": "Patch Demo",
            "password": "patchdemo1",
            "useInstantCommons": True,
            "mainPageText": f"Patch demo {i}: testing changes before they are merged.",
            "language": "en",
            "useProxy": False,
            "buildDocs": False,
            "useTempUser": False,
            "patches": [
                {"ref": f"refs/changes/45/{123000 + i}/3", "base": "master", "hash": digest}
            ],
        },
        "extensions": [{"name": "Echo", "enable": True, "branch": "master", "patches": []}],
        "skins": [{"name": "Vector", "enable": True, "branch": "master"}],
        "otherModules": [{"name": "VisualEditor", "enable": True, "branch": "master"}],
    }


def environment_row(i: int, owner: int, now: datetime) -> dict[str, Any]:
    """A stored environment as the watcher leaves it: mostly running, some failed/starting."""
    created = now - timedelta(hours=2, seconds=i)
    kind = i % 20
    status, reason, failure, expires = "running", "AllResourcesCurrent", None, None
    if kind == 0:
        status, reason, failure = "failed", "CrashLoopBackOff", "creation"
        expires = now + timedelta(days=3)
    elif kind == 1:
        status, reason = "starting", "ResourcesInProgress"
    memory = {
        "revision": 1,
        "lifecycle": "steady" if status == "running" else "creating",
        "lifecycle_since": created.isoformat(),
        "not_current_since": None,
        "resources": {
            "apps/v1/Deployment/mediawiki": {"seen": True, "last_status": "Current"},
            "apps/v1/StatefulSet/mariadb": {"seen": True, "last_status": "Current"},
            "batch/v1/Job/install-mediawiki": {"seen": True, "completed": True},
        },
    }
    return {
        "id": i,
        "name": f"wiki-{i:05d}",
        "live_name": f"wiki-{i:05d}",
        "chart_name": "mediawiki",
        "values": patchdemo_values(i),
        "namespace": f"env-{i}",
        "owner_token_id": owner,
        "status": status,
        "status_reason": reason,
        "status_message": "" if status != "failed" else "container mediawiki restarted 3 times",
        "status_since": created + timedelta(minutes=3),
        "status_observed_at": created + timedelta(minutes=3),
        "failure_kind": failure,
        "failed_at": created + timedelta(minutes=3) if failure else None,
        "expires_at": expires,
        "ever_running": status == "running",
        "lifecycle": "steady" if status == "running" else "creating",
        "revision": 1,
        "applied_revision": 1,
        "operation": None,
        "operation_error": None,
        "status_memory": memory,
        "created_at": created,
        "updated_at": created + timedelta(minutes=3),
        "deleted_at": None,
        "version": 3,
    }


async def seed_database(url: str, count: int) -> str:
    """Migrate, insert `count` environments and an admin token; returns the token."""
    database = Database(url)
    await database.connect()
    try:
        token = secrets.token_urlsafe(24)
        owner = (await TokenRepository(database).create(name="bench", token=token, admin=True)).id
        now = datetime.now(UTC)
        for start in range(1, count + 1, SEED_CHUNK):
            rows = [
                environment_row(i, owner, now)
                for i in range(start, min(count, start + SEED_CHUNK - 1) + 1)
            ]
            async with database.write() as conn:
                await conn.execute(insert(environments), rows)
        if database.engine.dialect.name == "postgresql":
            # Explicit ids do not advance the sequence; keep it usable for later inserts.
            async with database.write() as conn:
                await conn.execute(
                    text("SELECT setval('environments_id_seq', (SELECT max(id) FROM environments))")
                )
        return token
    finally:
        await database.close()


async def fresh_postgres_database(admin_url: str) -> tuple[str, str]:
    """A new empty database on the server of `admin_url`: (its URL, its name)."""
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    name = f"catalyst_bench_{secrets.token_hex(4)}"
    engine = create_async_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f"CREATE DATABASE {name}"))
    finally:
        await engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), name


async def drop_postgres_database(admin_url: str, name: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        await engine.dispose()


# ------------------------------------------------------------------ processes


@dataclass
class Child:
    process: asyncio.subprocess.Process
    url: str
    drain: asyncio.Task[None]
    """Keeps reading the child's stdout so it never blocks on a full pipe."""

    async def stop(self) -> None:
        self.drain.cancel()
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def start_child(
    argv: Sequence[str], ready: re.Pattern[str], env: dict[str, str] | None = None
) -> Child:
    """Start a process and wait for the stdout line matching `ready` (group 1: its URL)."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=None, env=env
    )
    assert process.stdout is not None

    async def wait_ready() -> str:
        assert process.stdout is not None
        while True:
            line = (await process.stdout.readline()).decode()
            if not line:
                raise RuntimeError(f"{argv[0]} exited before it was ready")
            if match := ready.search(line):
                return match.group(1)

    try:
        url = await asyncio.wait_for(wait_ready(), START_TIMEOUT)
    except BaseException:
        process.kill()
        await process.wait()
        raise
    return Child(process, url, asyncio.create_task(_drain(process.stdout)))


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass


@contextlib.asynccontextmanager
async def kubesim(workdir: Path) -> AsyncIterator[Path]:
    """A kubesim process; yields its kubeconfig."""
    async with kubesim_process(workdir / "kubesim.kubeconfig") as child:
        yield child.kubeconfig


@contextlib.asynccontextmanager
async def catalyst(workdir: Path, database_url: str, kubeconfig: Path) -> AsyncIterator[str]:
    """`catalyst serve` on a free port; yields its base URL."""
    env = {
        **os.environ,
        "CATALYST_DATA_DIR": str(workdir / "catalyst"),
        "CATALYST_DATABASE_URL": database_url,
        "CATALYST_KUBECONFIG": str(kubeconfig),
        "CATALYST_PORT": "0",
        "CATALYST_LOG_LEVEL": "WARNING",
        "CATALYST_INSTANCE_ID": "bench-api-replica",
    }
    child = await start_child(
        [str(VENV_BIN / "catalyst"), "serve"], re.compile(r"Catalyst API: (\S+)/api"), env
    )
    try:
        yield child.url
    finally:
        await child.stop()


# ------------------------------------------------------------------ cluster objects


async def create_environment_objects(client: ClusterClient, env_ids: Sequence[int]) -> None:
    limit = asyncio.Semaphore(16)

    async def create_one(env_id: int) -> None:
        async with limit:
            for api_version, kind, body in environment_objects(env_id):
                resource = await client.resource_for(api_version, kind)
                namespace = body["metadata"].get("namespace")
                await client.request(
                    "POST",
                    collection_path(resource, namespace),
                    body={"apiVersion": api_version, "kind": kind, **body},
                )

    await asyncio.gather(*(create_one(i) for i in env_ids))


async def hold_lease(client: ClusterClient) -> None:
    """Hold Catalyst's leader Lease for an hour so the measured replica never leads."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    await client.request(
        "POST",
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        body={
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "catalyst-leader", "namespace": "default"},
            "spec": {
                "holderIdentity": "bench-leader",
                "leaseDurationSeconds": 3600,
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": 0,
            },
        },
    )


class CountingBucket(TokenBucket):
    """The client's rate limiter, counting the requests it admits."""

    admitted = 0

    async def acquire(self) -> float:
        self.admitted += 1
        return await super().acquire()


async def measure_pre_watcher(kubeconfig: Path, env_ids: Sequence[int]) -> PreWatcherFigures:
    """Read `env_ids` the pre-watcher way, throttled (client-go defaults) and not.

    The throttled run starts with a full bucket, as a listing request after an idle page
    does; over a whole request at N >= 1,000 the burst of 10 is negligible, so the linear
    extrapolation slightly favours the pre-watcher approach."""

    async def read_all(qps: float, burst: int) -> tuple[float, int]:
        client = await ClusterClient.from_kubeconfig(kubeconfig, qps=0, burst=1)
        try:
            reader = EnvironmentReader(client)
            await reader.read_environment("env-0", 0)  # discovery, outside the timing
            limiter = client.rate_limiter = CountingBucket(qps, burst)
            started = time.perf_counter()
            snapshots = await asyncio.gather(
                *(reader.read_environment(f"env-{i}", i) for i in env_ids)
            )
            elapsed = time.perf_counter() - started
            if not all(s.namespace_exists and s.objects for s in snapshots):
                raise RuntimeError("pre-watcher read found environments without objects")
            return elapsed, limiter.admitted
        finally:
            await client.close()

    throttled, requests = await read_all(CLIENT_GO_QPS, CLIENT_GO_BURST)
    unthrottled, _ = await read_all(0, 1)
    return PreWatcherFigures(
        sample=len(env_ids),
        requests_per_environment=requests / len(env_ids),
        throttled_s_per_environment=throttled / len(env_ids),
        unthrottled_s_per_environment=unthrottled / len(env_ids),
    )


# ------------------------------------------------------------------ HTTP measurement


async def measure_http(
    url: str, token: str, *, requests: int, concurrency: int, expected: int
) -> HttpFigures:
    headers = {"Authorization": f"ApiToken {token}"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def one() -> tuple[float, int]:
            started = time.perf_counter()
            async with session.get(f"{url}/api/environments") as response:
                body = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"GET /api/environments: {response.status} {body[:200]!r}")
            return time.perf_counter() - started, len(body)

        async with session.get(f"{url}/api/environments") as response:
            items = orjson.loads(await response.read())
        if len(items) != expected or any(
            i["values"]["mediawikiCore"]["password"] != "***" for i in items
        ):
            raise RuntimeError(f"listing has {len(items)} items, expected {expected}")
        for _ in range(10):
            await one()
        latencies = sorted([(await one())[0] for _ in range(requests)])
        if os.environ.get("BENCH_VERBOSE"):
            print("  slowest (ms):", [round(x * 1000, 1) for x in latencies[-8:]])
        size = (await one())[1]

        remaining = requests

        async def client() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await one()

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        rate = requests / (time.perf_counter() - started)
    return HttpFigures(
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        max_ms=latencies[-1] * 1000,
        requests_per_s=rate,
        body_bytes=size,
    )


@contextlib.asynccontextmanager
async def churn(database_url: str, count: int, per_second: float) -> AsyncIterator[None]:
    """Bump `per_second` environments' status per second (like the watcher's writes)."""
    if per_second <= 0:
        yield
        return
    database = Database(database_url)
    await database.connect()
    stop = asyncio.Event()

    async def write() -> None:
        step = 0
        while not stop.is_set():
            env_id = 1 + (step * 7919) % count
            step += 1
            async with database.write() as conn:
                await conn.execute(
                    update(environments)
                    .where(environments.c.id == env_id)
                    .values(
                        status_message=f"bench write {step}",
                        updated_at=datetime.now(UTC),
                        version=environments.c.version + 1,
                    )
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1 / per_second)

    task = asyncio.create_task(write(), name="bench churn")
    try:
        yield
    finally:
        stop.set()
        await task
        await database.close()


@contextlib.asynccontextmanager
async def heartbeat(database_url: str) -> AsyncIterator[None]:
    """Write a fresh watcher heartbeat every few seconds, as the leader replica does."""
    database = Database(database_url)
    await database.connect()
    beats = HeartbeatRepository(database)
    stop = asyncio.Event()

    async def beat() -> None:
        while not stop.is_set():
            now = datetime.now(UTC)
            await beats.beat(holder="bench-leader", synced=True, fresh_at=now, now=now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HEARTBEAT_EVERY)

    task = asyncio.create_task(beat(), name="bench heartbeat")
    try:
        yield
    finally:
        stop.set()
        await task
        await database.close()


# ------------------------------------------------------------------ one size


@dataclass
class SizeResult:
    count: int
    database: str
    cached: HttpFigures
    churned: HttpFigures | None
    pre: PreWatcherFigures


async def run_size(args: argparse.Namespace, count: int, workdir: Path) -> SizeResult:
    dropped: str | None = None
    if args.postgres:
        database_url, dropped = await fresh_postgres_database(args.postgres)
        backend = "postgresql"
    else:
        (workdir / "db").mkdir()
        database_url = sqlite_url_for(workdir / "db")
        backend = "sqlite"
    try:
        started = time.perf_counter()
        token = await seed_database(database_url, count)
        print(f"  seeded {count} environments ({backend}) in {time.perf_counter() - started:.1f}s")
        async with kubesim(workdir) as kubeconfig:
            sample = list(range(1, min(args.sample, count) + 1))
            setup = await ClusterClient.from_kubeconfig(kubeconfig, qps=0, burst=1)
            try:
                if not args.lead:
                    await hold_lease(setup)
                await create_environment_objects(setup, sample)
            finally:
                await setup.close()
            async with (
                heartbeat(database_url) if not args.lead else contextlib.nullcontext(),
                catalyst(workdir, database_url, kubeconfig) as url,
            ):
                print(f"  catalyst at {url}; measuring the cached listing")
                cached = await measure_http(
                    url, token, requests=args.requests, concurrency=args.concurrency, expected=count
                )
                churned = None
                if args.churn > 0:
                    print(f"  again with {args.churn:g} environment writes/s")
                    async with churn(database_url, count, args.churn):
                        churned = await measure_http(
                            url,
                            token,
                            requests=args.requests,
                            concurrency=args.concurrency,
                            expected=count,
                        )
            print(f"  pre-watcher: reading {len(sample)} environments at qps 5, burst 10")
            pre = await measure_pre_watcher(kubeconfig, sample)
    finally:
        if dropped is not None:
            await drop_postgres_database(args.postgres, dropped)
    return SizeResult(count, backend, cached, churned, pre)


# ------------------------------------------------------------------ report


def print_report(results: Sequence[SizeResult], args: argparse.Namespace) -> None:
    print()
    print("GET /api/environments (measured through HTTP; pre-watcher extrapolated from a sample)")
    print()
    header = f"| {'approach':<44} | {'N':>6} | {'p50':>10} | {'p99':>10} | {'req/s':>8} |"
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    for r in results:
        rows = [(f"cached listing ({r.database}), measured", r.cached)]
        if r.churned is not None:
            rows.append((f"  … with {args.churn:g} writes/s, measured", r.churned))
        for label, f in rows:
            print(
                f"| {label:<44} | {r.count:>6} | {f.p50_ms:>7.1f} ms | {f.p99_ms:>7.1f} ms |"
                f" {f.requests_per_s:>8.1f} |"
            )
        pre_s = r.pre.throttled_s_per_environment * r.count
        print(
            f"| {'pre-watcher (qps 5, burst 10), extrapolated':<44} | {r.count:>6} |"
            f" {_duration(pre_s):>10} | {_duration(pre_s):>10} | {1 / pre_s:>8.5f} |"
        )
    print()
    for r in results:
        pre = r.pre
        pre_s = pre.throttled_s_per_environment * r.count
        target = 25.0 if r.count <= 1000 else 150.0
        print(
            f"N={r.count}: response {r.cached.body_bytes / 1e6:.1f} MB;"
            f" p99 {r.cached.p99_ms:.1f} ms"
            f" (target ≤ {target:g} ms: {'met' if r.cached.p99_ms <= target else 'MISSED'});"
            f" max {r.cached.max_ms:.1f} ms"
        )
        print(
            f"  pre-watcher MEASURED on {pre.sample} environments:"
            f" {pre.throttled_s_per_environment:.2f} s each at qps 5"
            f" ({pre.requests_per_environment:.1f} API requests each),"
            f" {pre.unthrottled_s_per_environment * 1000:.1f} ms each unthrottled;"
            f" EXTRAPOLATED to N: {_duration(pre_s)} per listing request"
        )
        speedup = pre_s / (r.cached.p50_ms / 1000)
        print(
            f"  speed-up (extrapolated pre-watcher / measured cached p50): {speedup:,.0f}x"
            + (
                f" (target ≥ 300x: {'met' if speedup >= 300 else 'MISSED'})"
                if r.count == 1000
                else ""
            )
        )


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


async def main_async(args: argparse.Namespace) -> None:
    results = []
    for count in args.sizes:
        print(f"N = {count}")
        with tempfile.TemporaryDirectory(prefix="bench-list-") as tmp:
            results.append(await run_size(args, count, Path(tmp)))
    print_report(results, args)


def main() -> None:
    # The throttled pre-watcher reads are slow on purpose; their wait warnings are noise.
    logging.getLogger("catalyst.cluster.ratelimit").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 10000]
    )
    parser.add_argument("--requests", type=int, default=200, help="timed requests per run")
    parser.add_argument("--concurrency", type=int, default=8, help="clients for requests/s")
    parser.add_argument("--sample", type=int, default=10, help="environments read pre-watcher")
    parser.add_argument("--churn", type=float, default=50.0, help="writes/s in a second run")
    parser.add_argument("--postgres", default="", help="admin URL: use PostgreSQL, not SQLite")
    parser.add_argument("--lead", action="store_true", help="let Catalyst lead (run its watcher)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
