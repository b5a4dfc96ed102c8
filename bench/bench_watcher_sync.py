"""The watcher's cluster cache at 10,000 environments: time to sync and memory per object.

Two processes, so the cluster's work never runs on the measured event loop:

* ``kubesim serve`` (a subprocess), filled by this script through the API with N
  environments' objects: per environment a Namespace ``env-<id>``, a Deployment (kubesim's
  controllers add its ReplicaSet and Pod), a Service and a PersistentVolumeClaim, all
  labelled ``catalyst.io/environment-id`` like the deployer's. That is 5 objects per
  environment (50,000 at N = 10,000) plus the Namespace, which the cache also holds.
  Objects are created directly (not through Helm) with ``--concurrency`` requests in
  flight; the script then waits until kubesim's resourceVersion stops moving, so the
  simulator has finished starting every Pod before the measurement starts.
* this script: ``ClusterCache(client)`` exactly as the leader builds it (every kind, the
  environment-label filter, the transform), then ``build()``, ``start()`` and
  ``wait_for_sync()``.

Figures, per mode (``--modes``: ``paged``, list+watch in pages of 500 like client-go, the
default; ``unpaged``, one LIST per kind; ``watch-list``, streaming lists):

* time from ``start()`` to fully synced (every informer has its complete list), and the
  discovery time of ``build()`` before it;
* objects cached, in total and per kind;
* memory: the growth of the process's RSS over the synced cache (first run only: the
  allocator keeps what it once had, so later runs would read low), and the Python memory
  still allocated once synced, traced with ``tracemalloc`` in a second, untimed run
  (tracing slows allocation), each divided by the objects cached.

Targets (issue 4): synced ≤ 10 s and ≤ 5 KB per cached object at 10,000 environments.
Prints figures; asserts nothing. Usage::

    .venv/bin/python bench/bench_watcher_sync.py                 # N = 10,000
    .venv/bin/python bench/bench_watcher_sync.py --environments 2000 --modes watch-list,paged
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalyst.cluster import ClusterClient
from catalyst.cluster.discovery import collection_path
from catalyst.watcher.cluster_cache import ClusterCache
from kubesim.process import kubesim_process

ENV_LABEL = "catalyst.io/environment-id"
SYNC_TIMEOUT = 300.0
SETTLE_SECONDS = 2.0
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


# ------------------------------------------------------------------ kubesim


@contextlib.asynccontextmanager
async def kubesim(workdir: Path) -> AsyncIterator[tuple[Path, int]]:
    """A kubesim process; yields its kubeconfig and pid."""
    async with kubesim_process(workdir / "kubesim.kubeconfig") as child:
        yield child.kubeconfig, child.pid


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


async def populate(kubeconfig: Path, count: int, concurrency: int) -> None:
    """Create `count` environments' objects, then wait for the simulator to settle."""
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
                if done % 2000 == 0:
                    rate = done / (time.perf_counter() - started)
                    print(f"  created {done} environments ({rate:.0f}/s)", flush=True)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        print("  waiting for the simulator to settle", flush=True)
        await wait_until_quiet(client)
        print(f"  populated in {time.perf_counter() - started:.1f}s", flush=True)
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


def print_figures(figures: Sequence[SyncFigures], environments: int) -> None:
    print()
    print(f"Watcher cluster cache at {environments} environments (kubesim in its own process)")
    print()
    for f in figures:
        tag = "timed" if f.traced_bytes is None else "traced (tracemalloc on, time not comparable)"
        print(f"{f.mode}, {tag}:")
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


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-watcher-") as tmp:
        async with kubesim(Path(tmp)) as (kubeconfig, _pid):
            print(f"populating kubesim with {args.environments} environments", flush=True)
            await populate(kubeconfig, args.environments, args.concurrency)
            figures: list[SyncFigures] = []
            modes = [MODES[name] for name in args.modes]
            for index, mode in enumerate(modes):
                print(f"measuring {mode.name}", flush=True)
                figures.append(await measure(kubeconfig, mode, trace=False, rss=index == 0))
                figures.append(await measure(kubeconfig, mode, trace=True, rss=False))
    print_figures(figures, args.environments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--environments", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32, help="create requests in flight")
    parser.add_argument(
        "--modes",
        type=lambda text: text.split(","),
        default=["paged"],
        help=f"comma-separated, from {', '.join(MODES)}; RSS is measured for the first",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
