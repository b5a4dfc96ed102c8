"""read_environment against kubesim: objects, evidence, missing namespace."""

from __future__ import annotations

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.deployer import Deployer, DeployTarget
from catalyst.cluster.labels import stamp_labels
from catalyst.cluster.reader import EnvironmentReader, EnvironmentSnapshot
from catalyst.domain.model import ObjectRef
from tests.support.renders import config_map, deployment, secret, service
from tests.support.waiting import eventually


async def test_reads_objects_and_evidence(
    cluster: ClusterClient, deployer: Deployer, environment_id: int
) -> None:
    ns = f"env-{environment_id}"
    render = [deployment("web"), service("web"), config_map("conf"), secret("creds")]
    await deployer.apply_environment(DeployTarget(environment_id, "demo", 1, ns), render)
    # Another environment's object in the same namespace must not show up. (The deployer
    # would refuse to apply into a namespace of another environment, so it is made directly.)
    foreign = stamp_labels(
        config_map("foreign"), environment_id=environment_id + 100000, chart="demo", revision=1
    )
    await cluster.request("POST", f"/api/v1/namespaces/{ns}/configmaps", body=foreign)
    reader = EnvironmentReader(cluster)

    async def with_pods() -> EnvironmentSnapshot | None:
        snapshot = await reader.read_environment(ns, environment_id)
        return snapshot if snapshot.pods and snapshot.replicasets else None

    snapshot = await eventually(with_pods, "the simulated pods and replicasets", within=15.0)
    assert snapshot.namespace_exists
    assert not snapshot.namespace_terminating
    assert set(snapshot.objects) == {
        ObjectRef("apps/v1", "Deployment", ns, "web"),
        ObjectRef("v1", "Service", ns, "web"),
        ObjectRef("v1", "ConfigMap", ns, "conf"),
        ObjectRef("v1", "Secret", ns, "creds"),
    }
    creds = snapshot.objects[ObjectRef("v1", "Secret", ns, "creds")]
    assert set(creds) == {"apiVersion", "kind", "metadata"}
    web = snapshot.objects[ObjectRef("apps/v1", "Deployment", ns, "web")]
    assert web["spec"]["replicas"] == 1
    assert snapshot.pods[0]["kind"] == "Pod"
    assert snapshot.replicasets[0]["kind"] == "ReplicaSet"


async def test_missing_namespace_reads_as_absent(cluster: ClusterClient) -> None:
    snapshot = await EnvironmentReader(cluster).read_environment("env-does-not-exist", 1)
    assert not snapshot.namespace_exists
    assert snapshot.objects == {}
    assert snapshot.pods == []
