"""The watcher's cluster cache on kubesim and realkube: time to sync and memory per object.

For each cluster of ``--cluster`` (``kubesim``, ``realkube`` or ``both``, the default) and
each size (``--kubesim-sizes``, default 1,000 and 10,000; ``--realkube-sizes``, default
1,000), a child process of this script starts and seeds a fresh cluster, then a process of
its own that did nothing before measures the cache (so its RSS growth is a first run's); the
parent prints every figure side by side at the end:

* the cluster (bench/targets.py, a process of its own): ``kubesim serve``, or realkube
  (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok nodes: one per 800
  environments, as a kwok node takes 1,000 pods), filled through the API with N
  environments' objects: per environment a Namespace ``env-<id>``, a Deployment (the
  cluster's controllers add its ReplicaSet and Pod), a Service and a PersistentVolumeClaim,
  all labelled ``catalyst.io/environment-id`` like the deployer's: 4 creates per
  environment, ``--concurrency`` (32) in flight, progress every 10 s. Then it waits for the
  cluster to settle: on kubesim until the resourceVersion stops moving; on realkube (whose
  resourceVersion never rests: node and leader leases) until every Pod is Ready and every
  claim Bound. The time of the whole seeding is printed.
* the measuring process: ``ClusterCache(client)`` exactly as the leader builds it (every
  kind, the environment-label filter, the transform), then ``build()``, ``start()`` and
  ``wait_for_sync()``.

Figures, per mode (``--modes``, default ``watch-list,paged``: ``watch-list``, streaming
lists, Catalyst's default; ``paged``, list+watch in pages of 500 like client-go;
``unpaged``, one LIST per kind):

* time from ``start()`` to fully synced (every informer has its complete list), and the
  discovery time of ``build()`` before it;
* objects cached, in total and per kind (on realkube the Pods carry the status written by
  the real kubelet stand-in, kwok, and the scheduler's node name);
* memory: the growth of the process's RSS over the synced cache (first mode only: the
  allocator keeps what it once had, so later runs would read low), and the Python memory
  still allocated once synced, traced with ``tracemalloc`` in a second, untimed run
  (tracing slows allocation), each divided by the objects cached.

Targets (issue 4): synced ≤ 10 s and ≤ 5 KB per cached object at 10,000 environments.
Prints figures; asserts nothing. Usage::

    .venv/bin/python bench/bench_watcher_sync.py             # both clusters
    .venv/bin/python bench/bench_watcher_sync.py --cluster realkube --realkube-sizes 1000,10000
    .venv/bin/python bench/bench_watcher_sync.py --cluster kubesim --kubesim-sizes 2000
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import math
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalyst.cluster import ClusterClient
from catalyst.cluster.discovery import collection_path
from catalyst.watcher.cluster_cache import ClusterCache
from targets import CLUSTERS, cluster_target, parse_clusters

ENV_LABEL = "catalyst.io/environment-id"
SYNC_TIMEOUT = 300.0
SETTLE_SECONDS = 2.0
REALKUBE_SETTLE_TIMEOUT = 900.0
PROGRESS_SECONDS = 10.0
RESULT_PREFIX = "RESULT "
PODS_PER_NODE = 800  # realkube's kwok nodes take 1,000 pods each
# The memory target of issue 4.
TARGET_BYTES_PER_OBJECT = 5 * 1024
TARGET_SYNC_SECONDS = 10.0


@dataclass
class SyncFigures:
    mode: str
    build_s: float
    sync_s: float
    sync_cpu_s: float
    """CPU time this process spent until synced (the rest of the wait is kubesim's)."""
    synced: bool
    objects: int
    by_kind: dict[str, int]
    rss_growth: int | None
    traced_bytes: int | None
    cluster: str = ""
    environments: int = 0


# ------------------------------------------------------------------ cluster objects


def environment_objects(env_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(apiVersion, kind, body) of one environment, labelled like the deployer's objects."""
    labels = {ENV_LABEL: str(env_id), "app.kubernetes.io/managed-by": "catalyst"}
    namespace = f"env-{env_id}"
    meta = {"namespace": namespace, "labels": labels}
    selector = {**labels, "app": "mediawiki"}
    return [
        ("v1", "Namespace", {"metadata": {"name": namespace, "labels": labels}}),
        (
            "apps/v1",
            "Deployment",
            {
                "metadata": {"name": "mediawiki", **meta},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": selector},
                    "template": {
                        "metadata": {"labels": selector},
                        "spec": {
                            "containers": [
                                {
                                    "name": "mediawiki",
                                    "image": "docker-registry.example.org/mediawiki:1.42",
                                    "ports": [{"containerPort": 80}],
                                    "env": [{"name": "MW_SITE", "value": f"wiki-{env_id}"}],
                                }
                            ]
                        },
                    },
                },
            },
        ),
        (
            "v1",
            "Service",
            {
                "metadata": {"name": "mediawiki", **meta},
                "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": 80}]},
            },
        ),
        (
            "v1",
            "PersistentVolumeClaim",
            {
                "metadata": {"name": "images", **meta},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            },
        ),
    ]


async def populate(kubeconfig: Path, count: int, concurrency: int, cluster: str) -> float:
    """Create `count` environments' objects, then wait for the cluster to settle.

    Returns the seconds from the first create to settled."""
    client = await ClusterClient.from_kubeconfig(kubeconfig, qps=0, burst=1)
    try:
        paths: dict[tuple[str, str], Any] = {}
        for api_version, kind, _ in environment_objects(0):
            paths[(api_version, kind)] = await client.resource_for(api_version, kind)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for env_id in range(1, count + 1):
            queue.put_nowait(env_id)
        done = 0
        started = time.perf_counter()

        async def worker() -> None:
            nonlocal done
            while not queue.empty():
                env_id = queue.get_nowait()
                for api_version, kind, body in environment_objects(env_id):
                    await client.request(
                        "POST",
                        collection_path(
                            paths[(api_version, kind)], body["metadata"].get("namespace")
                        ),
                        body={"apiVersion": api_version, "kind": kind, **body},
                    )
                done += 1

        async def progress() -> None:
            while True:
                await asyncio.sleep(PROGRESS_SECONDS)
                elapsed = time.perf_counter() - started
                print(
                    f"  created {done}/{count} environments in {elapsed:.0f}s"
                    f" ({done / elapsed:.0f}/s)",
                    flush=True,
                )

        reporter = asyncio.create_task(progress())
        try:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        finally:
            reporter.cancel()
        created = time.perf_counter() - started
        print(
            f"  created {count} environments ({4 * count} objects) in {created:.1f}s"
            f" ({count / created:.0f} environments/s, {concurrency} requests in flight)",
            flush=True,
        )
        if cluster == "realkube":
            print("  waiting for every pod to be Ready and every claim Bound", flush=True)
            await wait_until_running(client, count, started)
        else:
            print("  waiting for the simulator to settle", flush=True)
            await wait_until_quiet(client)
        seeded = time.perf_counter() - started
        print(f"  populated in {seeded:.1f}s", flush=True)
        return seeded
    finally:
        await client.close()


async def wait_until_quiet(client: ClusterClient) -> None:
    """Return once the cluster's resourceVersion has not moved for SETTLE_SECONDS."""
    deadline = time.monotonic() + SYNC_TIMEOUT
    last, since = "", time.monotonic()
    while time.monotonic() < deadline:
        listing = await client.request(
            "GET", "/api/v1/namespaces/default/configmaps", query={"limit": "1"}
        )
        version = str((listing.get("metadata") or {}).get("resourceVersion", ""))
        if version != last:
            last, since = version, time.monotonic()
        elif time.monotonic() - since >= SETTLE_SECONDS:
            return
        await asyncio.sleep(0.5)
    raise TimeoutError("the cluster kept changing")


async def count_items(client: ClusterClient, path: str, predicate: Any) -> int:
    """How many labelled objects at ``path`` satisfy ``predicate`` (paged LIST)."""
    found, token = 0, ""
    while True:
        query = {"labelSelector": ENV_LABEL, "limit": "500"}
        if token:
            query["continue"] = token
        listing = await client.request("GET", path, query=query)
        found += sum(1 for item in listing.get("items") or [] if predicate(item))
        token = (listing.get("metadata") or {}).get("continue") or ""
        if not token:
            return found


def pod_ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


async def wait_until_running(client: ClusterClient, count: int, started: float) -> None:
    """realkube's resourceVersion never rests (node leases, leader leases): wait instead
    until the controllers and kwok have done their work: ``count`` Ready pods, ``count``
    Bound claims; then SETTLE_SECONDS more for the last status writes."""
    deadline = time.monotonic() + REALKUBE_SETTLE_TIMEOUT
    last_print = time.monotonic()
    while True:
        pods = await count_items(client, "/api/v1/pods", pod_ready)
        claims = await count_items(
            client,
            "/api/v1/persistentvolumeclaims",
            lambda c: (c.get("status") or {}).get("phase") == "Bound",
        )
        if pods >= count and claims >= count:
            break
        if time.monotonic() > deadline:
            print(f"  gave up waiting: {pods} pods Ready, {claims} claims Bound", flush=True)
            break
        if time.monotonic() - last_print >= PROGRESS_SECONDS:
            last_print = time.monotonic()
            print(
                f"  {time.perf_counter() - started:.0f}s: {pods}/{count} pods Ready,"
                f" {claims}/{count} claims Bound",
                flush=True,
            )
        await asyncio.sleep(2.0)
    await asyncio.sleep(SETTLE_SECONDS)


# ------------------------------------------------------------------ measurement


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


@dataclass(frozen=True)
class Mode:
    name: str
    informer_options: dict[str, Any]


LIST_WATCH = Mode("list+watch (pages of 500, client-go's default)", {})
UNPAGED = Mode("list+watch, unpaged lists", {"page_size": 0})
WATCH_LIST = Mode("watch-list (streaming lists)", {"use_watch_list": True})
MODES = {"paged": LIST_WATCH, "unpaged": UNPAGED, "watch-list": WATCH_LIST}


async def measure(kubeconfig: Path, mode: Mode, *, trace: bool, rss: bool) -> SyncFigures:
    """Build, start and sync one ClusterCache; measure it; stop it."""
    gc.collect()
    client = await ClusterClient.from_kubeconfig(kubeconfig)
    cache = ClusterCache(client, **mode.informer_options)
    try:
        await client.request("GET", "/version")  # connection set up, outside the timing
        if trace:
            tracemalloc.start()
        rss_before = rss_bytes()
        traced_before = tracemalloc.get_traced_memory()[0] if trace else 0
        started = time.perf_counter()
        await cache.build()
        built = time.perf_counter()
        cpu_before = time.process_time()
        await cache.start()
        synced = await cache.wait_for_sync(SYNC_TIMEOUT)
        finished = time.perf_counter()
        cpu = time.process_time() - cpu_before
        gc.collect()
        rss_growth = rss_bytes() - rss_before if rss else None
        traced = tracemalloc.get_traced_memory()[0] - traced_before if trace else None
        by_kind = {kind: len(i.indexer) for (_, kind), i in cache.informers.items()}
        return SyncFigures(
            mode=mode.name,
            build_s=built - started,
            sync_s=finished - built,
            sync_cpu_s=cpu,
            synced=synced,
            objects=cache.object_count(),
            by_kind=by_kind,
            rss_growth=rss_growth,
            traced_bytes=traced,
        )
    finally:
        if trace:
            tracemalloc.stop()
        await cache.stop()
        await client.close()


def print_figures(figures: Sequence[SyncFigures]) -> None:
    print()
    print("Watcher cluster cache (each cluster in its own process)")
    for f in figures:
        tag = "timed" if f.traced_bytes is None else "traced (tracemalloc on, time not comparable)"
        print()
        print(f"{f.cluster}, {f.environments} environments, {f.mode}, {tag}:")
        print(
            f"  objects cached: {f.objects}"
            f" ({', '.join(f'{k} {n}' for k, n in f.by_kind.items() if n)})"
        )
        if f.traced_bytes is None:
            verdict = "met" if f.synced and f.sync_s <= TARGET_SYNC_SECONDS else "MISSED"
            print(
                f"  start -> fully synced: {f.sync_s:.2f} s (discovery before it"
                f" {f.build_s * 1000:.0f} ms); target <= {TARGET_SYNC_SECONDS:g} s: {verdict}"
            )
            print(f"  CPU time of this process until synced: {f.sync_cpu_s:.2f} s")
        if f.rss_growth is not None:
            print(
                f"  RSS growth: {f.rss_growth / 2**20:.1f} MiB ="
                f" {f.rss_growth / max(f.objects, 1):,.0f} B per object"
            )
        if f.traced_bytes is not None:
            per_object = f.traced_bytes / max(f.objects, 1)
            verdict = "met" if per_object <= TARGET_BYTES_PER_OBJECT else "MISSED"
            print(
                f"  Python allocations held: {f.traced_bytes / 2**20:.1f} MiB ="
                f" {per_object:,.0f} B per object; target <= 5 KB: {verdict}"
            )


def print_side_by_side(
    figures: Sequence[SyncFigures], seeding: dict[tuple[str, int], float]
) -> None:
    """One row per (environments, mode, figure), one column per cluster."""
    clusters = sorted({f.cluster for f in figures}, key=CLUSTERS.index)
    cells: dict[tuple[int, str, str], dict[str, str]] = {}

    def put(f: SyncFigures, what: str, value: str) -> None:
        cells.setdefault((f.environments, f.mode, what), {})[f.cluster] = value

    for f in figures:
        if f.traced_bytes is None:
            put(f, "objects cached", f"{f.objects:,}")
            put(f, "start -> fully synced", f"{f.sync_s:.2f} s" + ("" if f.synced else " (NOT)"))
            put(f, "CPU of this process until synced", f"{f.sync_cpu_s:.2f} s")
        if f.rss_growth is not None:
            put(f, "RSS growth per object", f"{f.rss_growth / max(f.objects, 1):,.0f} B")
        if f.traced_bytes is not None:
            put(f, "Python memory held per object", f"{f.traced_bytes / max(f.objects, 1):,.0f} B")
    rows = [
        (
            f"{n:,} envs",
            "seeding (create + settle)",
            {c: f"{s:.0f} s" for (c, m), s in seeding.items() if m == n},
        )
        for n in sorted({n for _, n in seeding})
    ]
    rows += [(f"{n:,} envs, {mode.split(' ')[0]}", what, v) for (n, mode, what), v in cells.items()]
    print()
    print("Side by side")
    width = max(len(f"{a}: {b}") for a, b, _ in rows) + 2
    print(" " * width + "".join(f"{c:>14}" for c in clusters))
    for a, b, values in rows:
        label = f"{a}: {b}"
        print(f"{label:<{width}}" + "".join(f"{values.get(c, '-'):>14}" for c in clusters))


async def measure_one(args: argparse.Namespace) -> None:
    """The child of one (cluster, size): a fresh process, so its RSS growth is a first run's."""
    cluster, environments = args.run_one[0], int(args.run_one[1])
    nodes = max(1, math.ceil(environments / PODS_PER_NODE))
    figures: list[SyncFigures] = []
    with tempfile.TemporaryDirectory(prefix="bench-watcher-") as tmp:
        async with cluster_target(cluster, Path(tmp), nodes=nodes) as target:
            print(
                f"populating {cluster} with {environments} environments"
                + (f" ({nodes} kwok nodes)" if cluster == "realkube" else ""),
                flush=True,
            )
            seeded = await populate(target.kubeconfig, environments, args.concurrency, cluster)
            # The cache is measured in a process of its own: seeding (and on realkube the
            # Ready counts, LISTs of full Pods) would leave freed memory in this one, so its
            # RSS would not grow with the cache.
            command = [sys.executable, __file__, "--measure", str(target.kubeconfig)]
            command += ["--modes", ",".join(args.modes)]
            figures = [SyncFigures(**f) for f in (await run_child(command))["figures"]]
    for found in figures:
        found.cluster, found.environments = cluster, environments
    print_figures(figures)
    result = {"seeded": seeded, "figures": [dataclasses.asdict(f) for f in figures]}
    print(RESULT_PREFIX + json.dumps(result), flush=True)


async def measure_cache(args: argparse.Namespace) -> None:
    """The measuring process: every mode against an already seeded cluster."""
    figures: list[SyncFigures] = []
    for index, mode in enumerate(MODES[name] for name in args.modes):
        print(f"measuring {mode.name}", flush=True)
        for trace in (False, True):
            figures.append(
                await measure(args.measure, mode, trace=trace, rss=index == 0 and not trace)
            )
    result = {"figures": [dataclasses.asdict(f) for f in figures]}
    print(RESULT_PREFIX + json.dumps(result), flush=True)


async def run_child(command: list[str]) -> dict[str, Any]:
    """Run a child of this script, echo its output, return its RESULT line's JSON."""
    child = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    assert child.stdout is not None
    result: dict[str, Any] = {}
    async for raw in child.stdout:
        line = raw.decode()
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
        else:
            print(line, end="", flush=True)
    if await child.wait() != 0 or not result:
        raise RuntimeError(f"{command[2:4]} failed (exit status {child.returncode})")
    return result


async def main_async(args: argparse.Namespace) -> None:
    figures: list[SyncFigures] = []
    seeding: dict[tuple[str, int], float] = {}
    sizes = {"kubesim": args.kubesim_sizes, "realkube": args.realkube_sizes}
    for cluster in args.cluster:
        for environments in sizes[cluster]:
            command = [sys.executable, __file__, "--run-one", cluster, str(environments)]
            command += ["--concurrency", str(args.concurrency), "--modes", ",".join(args.modes)]
            try:
                result = await run_child(command)
            except RuntimeError as exc:
                print(f"{cluster} at {environments} environments: {exc}", flush=True)
                continue
            seeding[(cluster, environments)] = result["seeded"]
            figures += [SyncFigures(**f) for f in result["figures"]]
    print_side_by_side(figures, seeding)


def sizes(text: str) -> list[int]:
    return [int(n) for n in text.split(",") if n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cluster", type=parse_clusters, default=list(CLUSTERS), help="kubesim, realkube or both"
    )
    parser.add_argument(
        "--kubesim-sizes", type=sizes, default=[1_000, 10_000], help="environments, comma-separated"
    )
    parser.add_argument(
        "--realkube-sizes",
        type=sizes,
        default=[1_000],
        help="environments, comma-separated (10000 takes long: see bench/README.md)",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="create requests in flight")
    parser.add_argument(
        "--modes",
        type=lambda text: text.split(","),
        default=["watch-list", "paged"],
        help=f"comma-separated, from {', '.join(MODES)}; RSS is measured for the first",
    )
    parser.add_argument("--run-one", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        asyncio.run(measure_cache(args))
    elif args.run_one:
        asyncio.run(measure_one(args))
    else:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
