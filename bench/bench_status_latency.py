"""Cluster change → status visible through the API: latency with 1,000 environments.

Run once per cluster of ``--cluster`` (``kubesim``, ``realkube`` or ``both``, the default),
each time from scratch, then printed side by side. Three processes, so the measuring client
never runs on the service's event loop:

* the cluster (bench/targets.py): a kubesim with its controllers off (no simulator), or
  realkube (etcd, kube-apiserver, scheduler, kwok) whose kube-controller-manager is stopped
  once it is ready; either way an object's status is exactly what the driver writes;
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

Seeding the cluster (a Namespace, a Deployment and a Job created, two status patches, per
environment) runs 32 environments at a time and prints progress every 10 s and its time.

Usage: ``.venv/bin/python bench/bench_status_latency.py [--cluster both] [--environments 1000]
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
from child_output import drain, first_line
from targets import CLUSTERS, cluster_target, parse_clusters

ENVIRONMENT_LABEL = "catalyst.io/environment-id"
START_TIMEOUT = 120.0
SEED_CONCURRENCY = 32
PROGRESS_SECONDS = 10.0
HISTOGRAM = "catalyst_event_to_write_seconds"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


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


async def bounded_gather(coros: list[Awaitable[Any]], limit: int, what: str) -> None:
    """Run ``coros`` with at most ``limit`` at a time; print progress every PROGRESS_SECONDS."""
    semaphore = asyncio.Semaphore(limit)
    done = 0
    started = time.monotonic()

    async def one(coro: Awaitable[Any]) -> None:
        nonlocal done
        async with semaphore:
            await coro
        done += 1

    async def progress() -> None:
        while True:
            await asyncio.sleep(PROGRESS_SECONDS)
            elapsed = time.monotonic() - started
            print(f"  {done}/{len(coros)} {what} in {elapsed:.0f}s", flush=True)

    reporter = asyncio.create_task(progress())
    try:
        await asyncio.gather(*(one(c) for c in coros))
    finally:
        reporter.cancel()


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
    # From "running": the merge patch keeps its startTime (immutable on a real API server,
    # which also rejects a finished Job with active pods).
    return {
        "active": 0,
        "failed": 1,
        "conditions": [
            condition("FailureTarget", "True", "BackoffLimitExceeded", "Job has reached the limit"),
            condition("Failed", "True", "BackoffLimitExceeded", "Job has reached the limit"),
        ],
    }


DEPLOYMENT_STATUS = "/apis/apps/v1/namespaces/env-{id}/deployments/web/status"
JOB_STATUS = "/apis/batch/v1/namespaces/env-{id}/jobs/install/status"


async def patch_status(kube: httpx.AsyncClient, path: str, status: dict[str, Any]) -> None:
    response = await kube.patch(path, json={"status": status}, headers=MERGE_PATCH)
    if response.is_error:
        raise RuntimeError(f"PATCH {path}: {response.status_code} {response.text[:500]}")


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


async def run(args: argparse.Namespace, cluster: str) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-status-{cluster}-"))
    database_url = args.database_url or sqlite_url_for(workdir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALYST_")}
    catalyst: asyncio.subprocess.Process | None = None
    catalyst_log = (workdir / "catalyst.log").open("wb")
    drains: list[asyncio.Task[None]] = []
    figures: dict[str, float] = {}
    try:
        async with cluster_target(cluster, workdir / "cluster", controllers=False) as target:
            print(f"{cluster} (no controllers) at {target.url}; work dir {workdir}", flush=True)
            t = time.monotonic()
            ids, token = await seed_database(database_url, args.environments)
            print(f"seeded {len(ids)} environment records in {time.monotonic() - t:.1f}s")
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
            async with httpx.AsyncClient(
                base_url=target.url, timeout=30, limits=limits, verify=target.ssl or True
            ) as kube:
                t = time.monotonic()
                await bounded_gather(
                    [seed_cluster(kube, i) for i in ids], SEED_CONCURRENCY, "environments"
                )
                figures["seed_s"] = time.monotonic() - t
                print(
                    f"seeded {3 * len(ids)} cluster objects (and {2 * len(ids)} status patches)"
                    f" in {figures['seed_s']:.1f}s, {SEED_CONCURRENCY} requests in flight",
                    flush=True,
                )

                env.update(
                    CATALYST_DATA_DIR=str(workdir / "catalyst"),
                    CATALYST_DATABASE_URL=database_url,
                    CATALYST_KUBECONFIG=str(target.kubeconfig),
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
                    figures["converge_s"] = await converge(api, ids, started)
                    before = await read_histogram(api)
                    changes = plan_changes(ids, round(args.rate * args.seconds))
                    latencies, lost = await drive(kube, api, changes, args)
                    await asyncio.sleep(args.give_up_after)  # let the last writes land
                    after = await read_histogram(api)
            if catalyst.returncode is None:
                catalyst.terminate()
                await asyncio.wait_for(catalyst.wait(), 30)
        committed = await commit_latencies(database_url, changes)
        figures |= report(latencies, lost, committed, changes, before, after, args)
    finally:
        if catalyst is not None and catalyst.returncode is None:
            catalyst.terminate()
            await asyncio.wait_for(catalyst.wait(), 30)
        for task in drains:
            task.cancel()
        catalyst_log.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return figures


async def converge(api: httpx.AsyncClient, ids: list[int], started: float) -> float:
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
    took = time.monotonic() - started
    print(
        f"watcher synced and evaluated {len(listing)} environments "
        f"{took:.1f}s after start (statuses: {sorted(statuses)})"
    )
    return took


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
) -> dict[str, float]:
    figures: dict[str, float] = {}
    kinds: dict[str, int] = {}
    for change in changes:
        kinds[change.what] = kinds.get(change.what, 0) + 1
    if args.poll > 0:
        print(f"changes: {kinds}; not visible within {args.give_up_after}s: {lost}")
    else:
        print(f"changes: {kinds}; API not polled during the run")
    ms = [v * 1000 for v in latencies]
    if args.poll > 0 and ms:
        figures |= {"visible_p50": percentile(ms, 0.5), "visible_p99": percentile(ms, 0.99)}
        print(
            f"change → visible in GET /api/environments/{{id}}"
            f" (poll every {args.poll * 1000:.0f} ms):"
            f" p50 {percentile(ms, 0.5):.0f} ms, p99 {percentile(ms, 0.99):.0f} ms,"
            f" max {ms[-1] if ms else float('nan'):.0f} ms  (target p99 ≤ 250 ms)"
        )
    stored = sorted(v * 1000 for v in committed if v is not None)
    missing = sum(1 for v in committed if v is None)
    figures |= {
        "committed_p50": percentile(stored, 0.5),
        "committed_p99": percentile(stored, 0.99),
        "committed_max": stored[-1] if stored else float("nan"),
        "not_recorded": missing,
    }
    print(
        f"change → transition committed (visible to any GET; from status_changes):"
        f" p50 {percentile(stored, 0.5):.0f} ms, p99 {percentile(stored, 0.99):.0f} ms,"
        f" max {stored[-1] if stored else float('nan'):.0f} ms, not recorded: {missing}"
        f"  (target p99 ≤ 250 ms)"
    )
    buckets = sorted((le, after.get(le, 0.0) - before.get(le, 0.0)) for le in after)
    written = buckets[-1][1] if buckets else 0
    figures |= {
        "histogram_p50": histogram_quantile(buckets, 0.5) * 1000,
        "histogram_p99": histogram_quantile(buckets, 0.99) * 1000,
    }
    print(
        f"{HISTOGRAM} (event → DB write, from /metrics, {written:.0f} writes):"
        f" p50 ≈ {histogram_quantile(buckets, 0.5) * 1000:.0f} ms,"
        f" p99 ≈ {histogram_quantile(buckets, 0.99) * 1000:.0f} ms"
    )
    return figures


def print_side_by_side(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    rows = [
        ("seeding the cluster objects (s)", "seed_s", "{:.1f}"),
        ("catalyst start -> every environment evaluated (s)", "converge_s", "{:.1f}"),
        ("change -> committed p50 (ms)", "committed_p50", "{:.0f}"),
        ("change -> committed p99 (ms)", "committed_p99", "{:.0f}"),
        ("change -> committed max (ms)", "committed_max", "{:.0f}"),
        ("changes not recorded", "not_recorded", "{:.0f}"),
        (f"{HISTOGRAM} p50 (ms)", "histogram_p50", "{:.0f}"),
        (f"{HISTOGRAM} p99 (ms)", "histogram_p99", "{:.0f}"),
        ("change -> visible in GET p50 (ms)", "visible_p50", "{:.0f}"),
        ("change -> visible in GET p99 (ms)", "visible_p99", "{:.0f}"),
    ]
    print()
    print(
        f"Side by side: {args.environments} environments, {args.rate:g} changes/s"
        f" for {args.seconds:g} s (target p99 <= 250 ms)"
    )
    width = max(len(label) for label, _, _ in rows) + 2
    print(" " * width + "".join(f"{c:>12}" for c in results))
    for label, key, fmt in rows:
        if any(key in figures for figures in results.values()):
            cells = [fmt.format(f[key]) if key in f else "-" for f in results.values()]
            print(f"{label:<{width}}" + "".join(f"{c:>12}" for c in cells))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cluster", type=parse_clusters, default=list(CLUSTERS), help="kubesim, realkube or both"
    )
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
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    for cluster in args.cluster:
        print(f"== {cluster}", flush=True)
        results[cluster] = asyncio.run(run(args, cluster))
    print_side_by_side(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
