"""ClusterCache when discovery of a newly wanted kind fails because the cluster does not
answer: the kind is remembered, the cache does not count as synced (so nothing is judged
without that kind's objects), and a retry once the cluster answers starts its informer.

On both clusters (`tests.clusters.BOTH_CLUSTERS`), through a TCP relay the test cuts.
"""

from __future__ import annotations

from pathlib import Path

from catalyst.cluster.client import ClusterClient
from catalyst.watcher.cluster_cache import ClusterCache
from tests.support.clusters import BOTH_CLUSTERS, KubeCluster
from tests.support.tcp_proxy import TcpProxy, kubeconfig_via
from tests.support.waiting import eventually

pytestmark = BOTH_CLUSTERS

# A group-version no base kind uses, so its discovery is not cached yet.
DISRUPTION_BUDGET = ("policy/v1", "PodDisruptionBudget")


async def test_a_kind_discovery_could_not_resolve_holds_the_sync_until_resolved(
    kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    async with TcpProxy(kube_cluster.url) as proxy:
        kubeconfig = kubeconfig_via(proxy, kube_cluster.kubeconfig_path, tmp_path / "relayed")
        async with await ClusterClient.from_kubeconfig(kubeconfig, qps=0) as client:
            cache = ClusterCache(client, kinds=(), max_backoff=0.2)
            await cache.build()
            await cache.start()
            try:

                async def synced() -> bool:
                    return cache.has_synced()

                await eventually(synced, "the cache to sync", within=30)

                proxy.cut()
                changes = await cache.set_kinds({DISRUPTION_BUDGET})
                assert changes.unresolved == (DISRUPTION_BUDGET,)
                assert DISRUPTION_BUDGET not in cache.informers
                assert not cache.has_synced()

                proxy.restore()
                changes = await cache.retry_unresolved()
                assert changes.started == (DISRUPTION_BUDGET,)
                assert changes.unresolved == ()
                await eventually(synced, "the cache to sync", within=30)
                assert (await cache.retry_unresolved()).started == ()
            finally:
                await cache.stop()
