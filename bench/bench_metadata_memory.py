"""Memory per object of a metadata-only informer (PartialObjectMetadata), against a whole one.

Starts kubesim in this process, fills one namespace with ``--objects`` ConfigMaps labelled
like the deployer's (each with ``--data-bytes`` of data and a last-applied annotation, like
a chart's ConfigMap applied by kubectl), then syncs two caches of them one after the other,
each traced with ``tracemalloc`` from before ``start()`` until synced:

* ``metadata``: the informer the watcher runs for status-less kinds (``ClusterCache`` with
  ConfigMaps, ``Accept: ...;as=PartialObjectMetadataList``, ``transform.metadata_for``);
* ``whole``: the same kind read whole and trimmed by ``trim_for_status`` (what any kind
  judged by its status costs), for comparison.

Figure: the Python memory freed when the synced (then stopped) cache is dropped, divided
by the objects it cached: what the cache itself holds, without kubesim's allocations (it
runs in this process) or transient buffers. The namespace, pod and replicaset informers
(empty here) are included and negligible. Asserts nothing. Usage::

    .venv/bin/python bench/bench_metadata_memory.py --objects 5000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import tracemalloc
from pathlib import Path

from catalyst.cluster.client import ClusterClient
from catalyst.watcher.cluster_cache import ClusterCache
from kubesim.server import KubeSim

NAMESPACE = "env-1"


def _configmap(i: int, data_bytes: int) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"settings-{i}",
            "namespace": NAMESPACE,
            "labels": {
                "app.kubernetes.io/managed-by": "catalyst",
                "catalyst.io/environment-id": "1",
                "catalyst.io/chart": "bench",
                "catalyst.io/revision": "1",
            },
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "x" * 200},
        },
        "data": {"settings.yaml": "y" * data_bytes},
    }


async def _measure(client: ClusterClient, *, metadata_only: bool) -> tuple[int, int]:
    cache = ClusterCache(client, kinds=[("v1", "ConfigMap")])
    if not metadata_only:
        cache.metadata_only = lambda kind: False  # type: ignore[method-assign]
    await cache.build()
    tracemalloc.start()
    await cache.start()
    if not await cache.wait_for_sync(120):
        raise RuntimeError("cache did not sync")
    count = len(cache.informers[("v1", "ConfigMap")].indexer)
    await cache.stop()  # the watch closes; the cached objects stay referenced by `cache`
    gc.collect()
    with_cache = tracemalloc.get_traced_memory()[0]
    del cache
    gc.collect()
    held = with_cache - tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return held, count


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with KubeSim(kubeconfig=Path(tmp) / "kubeconfig") as sim:
            assert sim.kubeconfig_path is not None
            client = await ClusterClient.from_kubeconfig(sim.kubeconfig_path, qps=0, burst=1)
            try:
                await client.request(
                    "POST", "/api/v1/namespaces", body={"metadata": {"name": NAMESPACE}}
                )
                path = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
                for start in range(0, args.objects, 100):
                    await asyncio.gather(
                        *(
                            client.request("POST", path, body=_configmap(i, args.data_bytes))
                            for i in range(start, min(start + 100, args.objects))
                        )
                    )
                for label, metadata_only in (("metadata", True), ("whole", False)):
                    held, count = await _measure(client, metadata_only=metadata_only)
                    print(
                        f"{label:>8}: {count} ConfigMaps cached, {held / 1024:.0f} KiB held, "
                        f"{held / max(count, 1):.0f} bytes per object"
                    )
            finally:
                await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--data-bytes", type=int, default=1024)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
