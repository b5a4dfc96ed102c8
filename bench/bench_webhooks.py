"""Webhooks: status change → delivered to a local receiver (latency), and deliveries per
second one replica sustains.

Two processes, so the receiver never runs on the service's event loop:

* the service: ``catalyst serve`` (SQLite file, embedded kubesim), the only replica, so the
  Lease holder: it runs the webhook deliveries; ``CATALYST_WEBHOOK_ALLOWED_NETWORKS`` lets
  it reach 127.0.0.1;
* the driver (this process): writes the status changes straight into the database, as the
  watcher does (one ``status_changes`` row per change, in the transaction that changes the
  environment), and serves the receiver (aiohttp on 127.0.0.1, answering 204 and checking
  every signature with the Standard Webhooks reference library).

Set-up: ``--environments`` (100) environments written into the database with no pending
operation before the service starts; after it has started, the driver waits until the
outbox has stopped growing (the watcher's first evaluation) before measuring. Each change is
a history row of its own on one environment (``record_status_change`` with an unchanged
status and the change's number as its message), so the watcher has nothing to correct.

1. **Latency**: one webhook; ``--rate`` (20) changes per second for ``--seconds`` (20). For
   each change, from just before its database write (wall clock) to its arrival at the
   receiver → p50 / p99 / max. Target: p99 ≤ 1 s.
2. **Throughput**: a backlog of ``--burst`` (1,000) changes written first, then
   ``--webhooks`` (8) webhooks subscribed before it (rows written straight into the database
   with their position just before the backlog): deliveries per second from the first
   delivery of the backlog to the last (one request in flight per webhook, all webhooks
   together bounded by ``CATALYST_WEBHOOK_MAX_CONCURRENT_DELIVERIES``, default 16).

Usage: ``.venv/bin/python bench/bench_webhooks.py [--environments 100] [--rate 20]
[--seconds 20] [--burst 1000] [--webhooks 8] [--database-url URL]`` (``URL``: an empty
PostgreSQL or MariaDB database instead of a new SQLite file). Prints its figures; asserts
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiohttp import web
from sqlalchemy import insert, select
from standardwebhooks.webhooks import Webhook

from catalyst.service.tokens import TokenService
from catalyst.service.webhook_messages import new_secret
from catalyst.store.database import Database, sqlite_url_for
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.schema import status_changes, webhooks
from catalyst.store.tokens import TokenRepository
from catalyst.timestamps import utc_now
from child_output import drain, first_line

START_TIMEOUT = 120.0
SETTLE_SECONDS = 3.0
DRAIN_TIMEOUT = 300.0


@dataclass
class Receiver:
    """Records when each change (by its message, per webhook) arrived."""

    secrets: dict[str, Webhook] = field(default_factory=dict)  # by path
    arrivals: dict[tuple[str, str], float] = field(default_factory=dict)
    bad_signatures: int = 0
    duplicates: int = 0
    news: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        arrived = time.time()
        path = request.path
        try:
            payload = self.secrets[path].verify(body, dict(request.headers))
        except Exception:
            self.bad_signatures += 1
            return web.Response(status=400)
        key = (path, payload["data"]["environment"]["statusMessage"])
        if key in self.arrivals:
            self.duplicates += 1
        self.arrivals.setdefault(key, arrived)
        self.news.set()
        return web.Response(status=204)

    def count(self, path: str, prefix: str) -> int:
        return sum(1 for p, m in self.arrivals if p == path and m.startswith(prefix))


async def seed(database: Database, count: int) -> list[int]:
    repo = EnvironmentRepository(database)
    ids = []
    for n in range(count):
        record = await repo.create(name=f"bench-{n:04d}", chart_name="mediawiki", values={})
        await repo.clear_operation(record.id, expected_version=record.version)
        ids.append(record.id)
    return ids


async def latest_position(database: Database) -> int:
    async with database.read() as conn:
        return int(
            (
                await conn.execute(
                    select(status_changes.c.id).order_by(status_changes.c.id.desc()).limit(1)
                )
            ).scalar()
            or 0
        )


async def settle(database: Database) -> None:
    """Wait until the outbox has not grown for SETTLE_SECONDS (the watcher's first pass)."""
    last, since = await latest_position(database), time.monotonic()
    while time.monotonic() - since < SETTLE_SECONDS:
        await asyncio.sleep(0.5)
        now = await latest_position(database)
        if now != last:
            last, since = now, time.monotonic()


async def tick(repo: EnvironmentRepository, env_id: int, message: str) -> None:
    """One change: a history row of its own, the environment's status unchanged."""
    for _ in range(20):
        record = await repo.get(env_id)
        assert record is not None
        try:
            await repo.record_status_change(
                env_id,
                expected_version=record.version,
                source="bench",
                history_reason="BenchChange",
                history_message=message,
            )
            return
        except Exception:  # the watcher wrote meanwhile: read again
            await asyncio.sleep(0.01)
    raise RuntimeError(f"environment {env_id}: could not write a change")


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    database_url = args.database_url or sqlite_url_for(workdir)
    database = Database(database_url)
    await database.connect()
    token = (await TokenService(TokenRepository(database)).create("bench", admin=True)).token
    env_ids = await seed(database, args.environments)
    repo = EnvironmentRepository(database)

    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock, backlog=1024).start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"

    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALYST_")}
    env.update(
        CATALYST_DATA_DIR=str(workdir),
        CATALYST_DATABASE_URL=database_url,
        CATALYST_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
        CATALYST_LOG_LEVEL="WARNING",
    )
    log = (workdir / "catalyst.log").open("wb")
    service = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "catalyst.cli", "serve", "--port", "0",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=log,
    )  # fmt: skip
    try:
        line = await asyncio.wait_for(first_line(service, "Catalyst API: "), START_TIMEOUT)
        api_url = line.split()[2].removesuffix("/api")
        drainer = asyncio.create_task(drain(service.stdout))
        headers = {"Authorization": f"ApiToken {token}"}
        async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=30) as api:
            await settle(database)
            print(f"service up, {len(env_ids)} environments, outbox settled", flush=True)

            # 1. Latency: one webhook, changes at a steady rate.
            response = await api.post("/api/webhooks", json={"url": f"{base}/latency"})
            assert response.status_code == 201, response.text
            receiver.secrets["/latency"] = Webhook(response.json()["secret"])
            # Warm-up: the leader picks a new webhook up within WEBHOOK_REFRESH_SECONDS.
            await tick(repo, env_ids[0], "warm-up")
            while ("/latency", "warm-up") not in receiver.arrivals:
                receiver.news.clear()
                await asyncio.wait_for(receiver.news.wait(), 30)
            total = int(args.rate * args.seconds)
            written: dict[str, float] = {}
            loop = asyncio.get_running_loop()
            start = loop.time()
            for n in range(total):
                await asyncio.sleep(max(0.0, start + n / args.rate - loop.time()))
                message = f"latency-{n}"
                written[message] = time.time()
                await tick(repo, env_ids[n % len(env_ids)], message)
            deadline = loop.time() + DRAIN_TIMEOUT
            while receiver.count("/latency", "latency-") < total and loop.time() < deadline:
                receiver.news.clear()
                try:
                    await asyncio.wait_for(receiver.news.wait(), 5)
                except TimeoutError:
                    pass
            latencies = [
                receiver.arrivals[("/latency", m)] - t
                for m, t in written.items()
                if ("/latency", m) in receiver.arrivals
            ]
            print(
                f"latency, change → delivered ({len(latencies)}/{total} changes, "
                f"{args.rate:g}/s): {percentiles(latencies)}",
                flush=True,
            )
            await api.delete(f"/api/webhooks/{response.json()['id']}")

            # 2. Throughput: a backlog, then webhooks subscribed from before it.
            before = await latest_position(database)
            for n in range(args.burst):
                await tick(repo, env_ids[n % len(env_ids)], f"burst-{n}")
            owner = await TokenRepository(database).get_by_name("bench")
            assert owner is not None
            paths = [f"/burst-{w}" for w in range(args.webhooks)]
            async with database.write() as conn:
                for path in paths:
                    secret = new_secret()
                    receiver.secrets[path] = Webhook(secret)
                    await conn.execute(insert(webhooks).values(
                        url=base + path, events=["environment.status"], secret=secret,
                        owner_token_id=owner.id, admin=True, created_at=utc_now(),
                        delivered_position=before, attempts=0,
                    ))  # fmt: skip
            expected = args.burst * len(paths)
            deadline = loop.time() + DRAIN_TIMEOUT
            while (
                sum(receiver.count(p, "burst-") for p in paths) < expected
                and loop.time() < deadline
            ):
                receiver.news.clear()
                try:
                    await asyncio.wait_for(receiver.news.wait(), 5)
                except TimeoutError:
                    pass
            times = [t for (p, m), t in receiver.arrivals.items() if p in paths]
            got = len(times)
            elapsed = max(times) - min(times)
            print(
                f"throughput: {got}/{expected} deliveries to {len(paths)} webhooks in "
                f"{elapsed:.2f}s = {got / elapsed:.0f} deliveries/s "
                f"(per webhook {got / elapsed / len(paths):.0f}/s)",
                flush=True,
            )
            deliveries = (await api.get("/api/webhooks")).json()
            failed = sum(h["failedAttempts"] for h in deliveries)
            print(
                f"bad signatures {receiver.bad_signatures}, duplicates {receiver.duplicates}, "
                f"failed attempts {failed}",
                flush=True,
            )
        service.terminate()
        await asyncio.wait_for(service.wait(), 30)
        await drainer
    finally:
        if service.returncode is None:
            service.kill()
            await service.wait()
        log.close()
        await runner.cleanup()
        await database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--environments", type=int, default=100)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--webhooks", type=int, default=8)
    parser.add_argument(
        "--database-url", default="", help="an empty database (default: a new SQLite file)"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
