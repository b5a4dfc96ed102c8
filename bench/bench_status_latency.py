"""Cluster change → status visible through the API: latency with 1,000 environments.

Three processes, so the measuring client never runs on the service's event loop:

* the cluster: this script re-run with ``--kubesim-child``: a kubesim with its controllers
  off (no simulator), so an object's status is exactly what the driver writes;
* the service: ``catalyst serve`` (SQLite file by default, ``--database-url`` for another
  database) pointed at that cluster; it is the Lease holder, so it runs the watcher;
* the driver (this process).

Set-up (fast, no Helm): the driver writes 1,000 environment records straight into the
database (revision 1 applied, no pending operation, inventory = one Deployment and one
Job), and the matching labelled Namespace, Deployment and Job into kubesim. Even-numbered
environments start with the Deployment not ready (and the Job complete), odd ones with the
Job still running (and the Deployment ready): all are ``starting``.

Changes, at ``--rate`` per second (default 50) for about ``--seconds`` (default 30), each a
status-subresource patch in kubesim:

* "a pod becoming ready": an even environment's Deployment reports its replica ready and
  available → ``running``;
* "a job failing": an odd environment's Job gets ``Failed=True`` → ``failed`` (creation);
* once every environment has changed once, running ones see their Deployment exceed its
  progress deadline → ``failed`` (runtime).

Three measures, all printed as p50/p99/max (target: p99 ≤ 250 ms); nothing is asserted:

1. change → transition committed: from just before the patch is sent (wall clock) to the
   ``occurred_at`` of the first ``status_changes`` row with the expected status. From
   that commit on, every ``GET /api/environments/{id}`` (a database read) shows it. Read
   from the database after the run, so the measurement adds no load while it runs.
2. ``catalyst_event_to_write_seconds`` (the service's histogram: watch event received →
   database write), read from ``/metrics`` before and after the run.
3. optional (``--poll S``): each change's own task polls ``GET /api/environments/{id}``
   every S seconds until the new status shows; all polls share a budget of
   ``--poll-rate`` requests per second. On a 2-core machine this load competes with the
   watcher inside the same process, so it measures the service under read load too.

Usage: ``.venv/bin/python bench/bench_status_latency.py [--environments 1000]
[--database-url URL] [--poll 0.01 --poll-rate 100]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from catalyst.service.tokens import TokenService
from catalyst.store.database import Database, sqlite_url_for
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.records import ObjectRef
from catalyst.store.tokens import TokenRepository

ENVIRONMENT_LABEL = "catalyst.io/environment-id"
START_TIMEOUT = 120.0
SEED_CONCURRENCY = 32
HISTOGRAM = "catalyst_event_to_write_seconds"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


# ------------------------------------------------------------------ kubesim child


async def kubesim_child(kubeconfig: Path) -> None:
    """Serve kubesim without controllers until stdin closes (the parent's exit)."""
    from kubesim.server import KubeSim

    sim = KubeSim("127.0.0.1", 0, kubeconfig=kubeconfig, controllers=False, freeze_heap=True)
    await sim.start()
    try:
        print(f"ready {sim.url}", flush=True)
        await asyncio.to_thread(sys.stdin.read)
    finally:
        await sim.stop()


# ------------------------------------------------------------------ helpers


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))
    return sorted_values[index]


def histogram_quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """Prometheus-style quantile from cumulative (upper bound, count) buckets."""
    if not buckets or buckets[-1][1] == 0:
        return float("nan")
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            span = count - lower_count
            fraction = (rank - lower_count) / span if span else 1.0
            return lower_bound + (bound - lower_bound) * fraction
        lower_bound, lower_count = bound, count
    return lower_bound


async def read_histogram(api: httpx.AsyncClient) -> dict[float, float]:
    response = await api.get("/metrics")
    response.raise_for_status()
    found: dict[float, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == f"{HISTOGRAM}_bucket":
                found[float(sample.labels["le"])] = sample.value
    return found


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, within: float) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def first_line(process: asyncio.subprocess.Process, prefix: str) -> str:
    assert process.stdout is not None
    while True:
        line = (await process.stdout.readline()).decode()
        if not line:
            raise RuntimeError(f"child exited before printing {prefix!r}")
        if line.startswith(prefix):
            return line.strip()


async def drain(stream: asyncio.StreamReader | None) -> None:
    if stream is not None:
        while await stream.readline():
            pass


async def bounded_gather(coros: list[Awaitable[Any]], limit: int) -> None:
    semaphore = asyncio.Semaphore(limit)

    async def one(coro: Awaitable[Any]) -> None:
        async with semaphore:
            await coro

    await asyncio.gather(*(one(c) for c in coros))


# ------------------------------------------------------------------ cluster objects


def labels(env_id: int) -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": "catalyst",
        ENVIRONMENT_LABEL: str(env_id),
        "catalyst.io/chart": "bench",
        "catalyst.io/revision": "1",
    }


def deployment(env_id: int) -> dict[str, Any]:
    selector = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": labels(env_id)},
        "spec": {
            "replicas": 1,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {**selector, ENVIRONMENT_LABEL: str(env_id)}},
                "spec": {"containers": [{"name": "web", "image": "mediawiki:1.42"}]},
            },
        },
    }


def job(env_id: int) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "install", "labels": labels(env_id)},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {ENVIRONMENT_LABEL: str(env_id)}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "install", "image": "mediawiki:1.42"}],
                },
            },
        },
    }


def condition(kind: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": now,
        "lastUpdateTime": now,
    }


def deployment_status(*, ready: bool, deadline_exceeded: bool = False) -> dict[str, Any]:
    count = 1 if ready else 0
    progressing = (
        condition("Progressing", "False", "ProgressDeadlineExceeded", "deadline exceeded")
        if deadline_exceeded
        else condition(
            "Progressing",
            "True",
            "NewReplicaSetAvailable" if ready else "ReplicaSetUpdated",
        )
    )
    return {
        "observedGeneration": 1,
        "replicas": 1,
        "updatedReplicas": 1,
        "readyReplicas": count,
        "availableReplicas": count,
        "unavailableReplicas": 1 - count,
        "conditions": [
            condition(
                "Available",
                "True" if ready else "False",
                "MinimumReplicasAvailable" if ready else "MinimumReplicasUnavailable",
            ),
            progressing,
        ],
    }


def job_status(state: str) -> dict[str, Any]:
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if state == "running":
        return {"active": 1, "startTime": start, "ready": 0}
    if state == "complete":
        return {
            "succeeded": 1,
            "startTime": start,
            "completionTime": start,
            "conditions": [
                condition("SuccessCriteriaMet", "True", "CompletionsReached"),
                condition("Complete", "True", "CompletionsReached"),
            ],
        }
    return {
        "failed": 1,
        "startTime": start,
        "conditions": [
            condition("FailureTarget", "True", "BackoffLimitExceeded", "Job has reached the limit"),
            condition("Failed", "True", "BackoffLimitExceeded", "Job has reached the limit"),
        ],
    }


DEPLOYMENT_STATUS = "/apis/apps/v1/namespaces/env-{id}/deployments/web/status"
JOB_STATUS = "/apis/batch/v1/namespaces/env-{id}/jobs/install/status"


async def patch_status(kube: httpx.AsyncClient, path: str, status: dict[str, Any]) -> None:
    response = await kube.patch(path, json={"status": status}, headers=MERGE_PATCH)
    response.raise_for_status()


async def seed_cluster(kube: httpx.AsyncClient, env_id: int) -> None:
    namespace = f"env-{env_id}"
    response = await kube.post(
        "/api/v1/namespaces",
        json={
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": labels(env_id)},
        },
    )
    response.raise_for_status()
    for plural, body in (("deployments", deployment(env_id)), ("jobs", job(env_id))):
        group = "apps/v1" if plural == "deployments" else "batch/v1"
        response = await kube.post(f"/apis/{group}/namespaces/{namespace}/{plural}", json=body)
        response.raise_for_status()
    even = env_id % 2 == 0
    await patch_status(kube, DEPLOYMENT_STATUS.format(id=env_id), deployment_status(ready=not even))
    await patch_status(
        kube, JOB_STATUS.format(id=env_id), job_status("complete" if even else "running")
    )


async def seed_database(url: str, count: int) -> tuple[list[int], str]:
    """``count`` environments with their inventory, applied and idle; and an admin token."""
    database = Database(url)
    await database.connect()
    try:
        repository = EnvironmentRepository(database)
        ids: list[int] = []
        for n in range(count):
            record = await repository.create(name=f"bench-{n:05d}", chart_name="bench", values={})
            namespace = f"env-{record.id}"
            await repository.set_inventory(
                record.id,
                revision=1,
                objects=[
                    ObjectRef("apps/v1", "Deployment", namespace, "web"),
                    ObjectRef("batch/v1", "Job", namespace, "install"),
                ],
            )
            await repository.update(
                record.id, expected_version=record.version, applied_revision=1, operation=None
            )
            ids.append(record.id)
        token = await TokenService(TokenRepository(database)).create("bench", admin=True)
    finally:
        await database.close()
    return ids, token.token


# ------------------------------------------------------------------ the run


class PollBudget:
    """Spaces requests at least ``1/rate`` seconds apart, across every caller."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._next > now:
                await asyncio.sleep(self._next - now)
            self._next = max(now, self._next) + self._interval


@dataclass
class Change:
    env_id: int
    path: str
    status: dict[str, Any]
    expect: str
    what: str
    sent_at: float = 0.0


def plan_changes(ids: list[int], total: int) -> list[Change]:
    firsts = [
        Change(
            i, DEPLOYMENT_STATUS.format(id=i), deployment_status(ready=True), "running", "pod ready"
        )
        if i % 2 == 0
        else Change(i, JOB_STATUS.format(id=i), job_status("failed"), "failed", "job failed")
        for i in ids
    ]
    seconds = [
        Change(
            i,
            DEPLOYMENT_STATUS.format(id=i),
            deployment_status(ready=True, deadline_exceeded=True),
            "failed",
            "deployment failed",
        )
        for i in ids
        if i % 2 == 0
    ]
    return (firsts + seconds)[:total]


async def measure(
    kube: httpx.AsyncClient,
    api: httpx.AsyncClient,
    change: Change,
    poll: float,
    give_up_after: float,
    budget: PollBudget,
) -> float | None:
    started = time.monotonic()
    change.sent_at = time.time()
    await patch_status(kube, change.path, change.status)
    if poll <= 0:
        return None  # no API load from the measurement itself
    deadline = started + give_up_after
    while time.monotonic() < deadline:
        await budget.take()
        response = await api.get(f"/api/environments/{change.env_id}")
        if response.status_code == 200 and response.json()["status"] == change.expect:
            return time.monotonic() - started
        await asyncio.sleep(poll)
    return None


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-status-"))
    kubeconfig = workdir / "kubeconfig"
    database_url = args.database_url or sqlite_url_for(workdir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALYST_")}

    kubesim = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--kubesim-child",
        str(kubeconfig),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    catalyst: asyncio.subprocess.Process | None = None
    catalyst_log = (workdir / "catalyst.log").open("wb")
    drains: list[asyncio.Task[None]] = []
    try:
        kube_url = (await asyncio.wait_for(first_line(kubesim, "ready "), START_TIMEOUT)).split()[1]
        print(f"kubesim (no controllers) at {kube_url}; work dir {workdir}")

        t = time.monotonic()
        ids, token = await seed_database(database_url, args.environments)
        print(f"seeded {len(ids)} environment records in {time.monotonic() - t:.1f}s")
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=kube_url, timeout=30, limits=limits) as kube:
            t = time.monotonic()
            await bounded_gather([seed_cluster(kube, i) for i in ids], SEED_CONCURRENCY)
            print(f"seeded {3 * len(ids)} cluster objects in {time.monotonic() - t:.1f}s")

            env.update(
                CATALYST_DATA_DIR=str(workdir / "catalyst"),
                CATALYST_DATABASE_URL=database_url,
                CATALYST_KUBECONFIG=str(kubeconfig),
                CATALYST_LOG_LEVEL="WARNING",
            )
            catalyst = await asyncio.create_subprocess_exec(
                *shlex.split(args.serve_command),
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=catalyst_log,
            )
            started = time.monotonic()
            line = await asyncio.wait_for(first_line(catalyst, "Catalyst API: "), START_TIMEOUT)
            api_url = line.split()[2].removesuffix("/api")
            drains.append(asyncio.create_task(drain(catalyst.stdout)))
            headers = {"Authorization": f"ApiToken {token}"}
            async with httpx.AsyncClient(
                base_url=api_url, headers=headers, timeout=30, limits=limits
            ) as api:
                await converge(api, ids, started)
                before = await read_histogram(api)
                changes = plan_changes(ids, round(args.rate * args.seconds))
                latencies, lost = await drive(kube, api, changes, args)
                await asyncio.sleep(args.give_up_after)  # let the last writes land
                after = await read_histogram(api)
        committed = await commit_latencies(database_url, changes)
        report(latencies, lost, committed, changes, before, after, args)
    finally:
        for process in (catalyst, kubesim):
            if process is not None and process.returncode is None:
                if process is kubesim and process.stdin is not None:
                    process.stdin.close()
                else:
                    process.terminate()
                await asyncio.wait_for(process.wait(), 30)
        for task in drains:
            task.cancel()
        catalyst_log.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


async def converge(api: httpx.AsyncClient, ids: list[int], started: float) -> None:
    """Wait until the new leader has evaluated every environment once (all ``starting``)."""
    wall_start = time.time() - (time.monotonic() - started)

    async def evaluated() -> bool:
        listing = (await api.get("/api/environments")).json()
        if len(listing) < len(ids):
            return False
        return all(
            e["statusObservedAt"]
            and datetime.fromisoformat(e["statusObservedAt"].replace("Z", "+00:00")).timestamp()
            > wall_start
            for e in listing
        )

    await wait_until(evaluated, "the watcher to evaluate every environment", START_TIMEOUT)
    listing = (await api.get("/api/environments")).json()
    statuses = {e["status"] for e in listing}
    print(
        f"watcher synced and evaluated {len(listing)} environments "
        f"{time.monotonic() - started:.1f}s after start (statuses: {sorted(statuses)})"
    )


async def drive(
    kube: httpx.AsyncClient, api: httpx.AsyncClient, changes: list[Change], args: argparse.Namespace
) -> tuple[list[float], int]:
    interval = 1.0 / args.rate
    tasks: list[asyncio.Task[float | None]] = []
    budget = PollBudget(args.poll_rate)
    begin = time.monotonic()
    for n, change in enumerate(changes):
        await asyncio.sleep(max(0.0, begin + n * interval - time.monotonic()))
        tasks.append(
            asyncio.create_task(measure(kube, api, change, args.poll, args.give_up_after, budget))
        )
    elapsed = time.monotonic() - begin
    results = await asyncio.gather(*tasks)
    print(f"sent {len(changes)} changes in {elapsed:.1f}s ({len(changes) / elapsed:.1f}/s)")
    if args.poll > 0:
        # The worst latency per 5 s of sending: shows whether slow changes cluster in time
        # (a stall or a backlog) or are spread out.
        window = max(1, round(5.0 * args.rate))
        worst = [
            max((r for r in results[i : i + window] if r is not None), default=float("nan"))
            for i in range(0, len(results), window)
        ]
        print("worst latency per 5 s window (ms): " + " ".join(f"{w * 1000:.0f}" for w in worst))
    latencies = sorted(r for r in results if r is not None)
    return latencies, sum(1 for r in results if r is None)


async def commit_latencies(database_url: str, changes: list[Change]) -> list[float | None]:
    """Per change: seconds from sending it to the commit of the matching status transition
    (the first ``status_changes`` row to the expected status after the send), i.e. from the
    moment a GET could first see it. Read after the run, so it adds no load during it.
    ``occurred_at`` is taken just before the write commits, so this may run a few ms short."""
    database = Database(database_url)
    await database.connect()
    try:
        repository = EnvironmentRepository(database)
        found: list[float | None] = []
        for change in changes:
            rows = await repository.list_status_changes(change.env_id)
            times = [
                row.occurred_at.timestamp()
                for row in rows
                if row.to_status == change.expect
                and row.occurred_at.timestamp() >= change.sent_at - 0.001
            ]
            found.append(min(times) - change.sent_at if times else None)
    finally:
        await database.close()
    return found


def report(
    latencies: list[float],
    lost: int,
    committed: list[float | None],
    changes: list[Change],
    before: dict[float, float],
    after: dict[float, float],
    args: argparse.Namespace,
) -> None:
    kinds: dict[str, int] = {}
    for change in changes:
        kinds[change.what] = kinds.get(change.what, 0) + 1
    if args.poll > 0:
        print(f"changes: {kinds}; not visible within {args.give_up_after}s: {lost}")
    else:
        print(f"changes: {kinds}; API not polled during the run")
    ms = [v * 1000 for v in latencies]
    if args.poll > 0 and ms:
        print(
            f"change → visible in GET /api/environments/{{id}}"
            f" (poll every {args.poll * 1000:.0f} ms):"
            f" p50 {percentile(ms, 0.5):.0f} ms, p99 {percentile(ms, 0.99):.0f} ms,"
            f" max {ms[-1] if ms else float('nan'):.0f} ms  (target p99 ≤ 250 ms)"
        )
    stored = sorted(v * 1000 for v in committed if v is not None)
    missing = sum(1 for v in committed if v is None)
    print(
        f"change → transition committed (visible to any GET; from status_changes):"
        f" p50 {percentile(stored, 0.5):.0f} ms, p99 {percentile(stored, 0.99):.0f} ms,"
        f" max {stored[-1] if stored else float('nan'):.0f} ms, not recorded: {missing}"
        f"  (target p99 ≤ 250 ms)"
    )
    buckets = sorted((le, after.get(le, 0.0) - before.get(le, 0.0)) for le in after)
    written = buckets[-1][1] if buckets else 0
    print(
        f"{HISTOGRAM} (event → DB write, from /metrics, {written:.0f} writes):"
        f" p50 ≈ {histogram_quantile(buckets, 0.5) * 1000:.0f} ms,"
        f" p99 ≈ {histogram_quantile(buckets, 0.99) * 1000:.0f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environments", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="changes per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the run")
    parser.add_argument(
        "--poll", type=float, default=0.0, help="API poll interval per change (s); 0: no polls"
    )
    parser.add_argument(
        "--poll-rate", type=float, default=100.0, help="API polls per second, all changes"
    )
    parser.add_argument(
        "--give-up-after", type=float, default=10.0, help="seconds before a change counts as lost"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, DB)")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    parser.add_argument(
        "--serve-command",
        default=f"{sys.executable} -m catalyst.cli serve --port 0",
        help="how to start Catalyst (it must print 'Catalyst API: URL/api')",
    )
    parser.add_argument("--kubesim-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.kubesim_child is not None:
        asyncio.run(kubesim_child(args.kubesim_child))
    else:
        asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
