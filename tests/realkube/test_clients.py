"""The official Python client and Helm (the SDK wheel Catalyst uses) against realkube.

- The ``kubernetes`` client lists pods and watches one become Ready (from the list's
  resourceVersion, bounded by ``timeout_seconds``).
- Helm installs the bundled mediawiki chart and waits for it (kstatus watcher); the install
  Job completes and its log, read through ``pods/log``, carries the lines Patchdemo reads
  (Catalyst's embedded kubesim rules, which the session's realkube runs).

Blocking clients run in worker threads (``in_thread``), each with its own timeout too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import helm_python as helm
import pytest
from kubernetes import client, config, watch

from tests.support.realkube_thread import RealKubeThread
from tests.support.threads import fetch, in_thread

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
MEDIAWIKI = REPO / "charts" / "mediawiki"
HELM_TIMEOUT = 120  # seconds; below the worker-thread deadline
PATCHDEMO_LINES = (
    "Preparing worktree",
    "composer install",
    "apt-get install -y npm",
    "Installing Wiki",
)


@pytest.fixture
def api(realkube: RealKubeThread) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(realkube.kubeconfig))
    try:
        yield api_client
    finally:
        api_client.close()


def _watch_until_ready(
    core: client.CoreV1Api, namespace: str, name: str, version: str
) -> list[str]:
    seen: list[str] = []
    stream = watch.Watch()
    for event in stream.stream(
        core.list_namespaced_pod,
        namespace,
        field_selector=f"metadata.name={name}",
        resource_version=version,
        timeout_seconds=60,
    ):
        pod = event["object"]
        seen.append(event["type"])
        conditions = {c.type: c.status for c in (pod.status.conditions or [])}
        if conditions.get("Ready") == "True":
            stream.stop()
    return seen


def _watch_job_complete(batch: client.BatchV1Api, namespace: str) -> str:
    """Watch the namespace's only Job until it has succeeded (bounded); returns its name."""
    stream = watch.Watch()
    for event in stream.stream(batch.list_namespaced_job, namespace, timeout_seconds=90):
        job = event["object"]
        if job.status is not None and job.status.succeeded == 1:
            stream.stop()
            return str(job.metadata.name if job.metadata else "")
    raise AssertionError(f"no Job in {namespace} succeeded within 90 s")


async def test_python_client_lists_and_watches(
    api: client.ApiClient, realkube_namespace: str
) -> None:
    core = client.CoreV1Api(api)
    nodes = await fetch(api, core.list_node)
    assert [n["metadata"]["name"] for n in nodes["items"]] == ["realkube-node-0"]
    listed = await fetch(api, core.list_namespaced_pod, realkube_namespace)
    assert listed["items"] == []
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(
            name="watched", annotations={"sim.kubesim.io/ready-after": "2s"}
        ),
        spec=client.V1PodSpec(containers=[client.V1Container(name="main", image="nginx:1.27")]),
    )
    await in_thread(core.create_namespaced_pod, realkube_namespace, pod)
    version = str(listed["metadata"]["resourceVersion"])
    seen = await in_thread(_watch_until_ready, core, realkube_namespace, "watched", version)
    assert seen[0] == "ADDED"
    assert seen.count("MODIFIED") >= 2  # scheduled, started, ready
    listed = await fetch(api, core.list_namespaced_pod, realkube_namespace)
    assert [p["metadata"]["name"] for p in listed["items"]] == ["watched"]
    assert listed["items"][0]["status"]["phase"] == "Running"
    assert listed["items"][0]["spec"]["nodeName"] == "realkube-node-0"


async def test_helm_installs_the_mediawiki_chart(
    realkube: RealKubeThread, api: client.ApiClient, realkube_namespace: str
) -> None:
    with helm.Config(kubeconfig_path=realkube.kubeconfig, namespace=realkube_namespace) as cfg:
        release = await in_thread(
            cfg.install, MEDIAWIKI, "wiki", {}, wait="watcher", timeout=HELM_TIMEOUT
        )
        assert release["status"] == "deployed"
        core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
        # Helm's waiter does not wait for Jobs to finish: watch the install Job complete.
        job_name = await in_thread(_watch_job_complete, batch, realkube_namespace)
        selector = f"job-name={job_name}"
        pods = await fetch(
            api, core.list_namespaced_pod, realkube_namespace, label_selector=selector
        )
        pod_name = str(pods["items"][0]["metadata"]["name"])
        text = await in_thread(core.read_namespaced_pod_log, pod_name, realkube_namespace)
        for needle in PATCHDEMO_LINES:
            assert needle in text
        claims = await fetch(api, core.list_namespaced_persistent_volume_claim, realkube_namespace)
        assert claims["items"]
        assert {c["status"]["phase"] for c in claims["items"]} == {"Bound"}
        await in_thread(cfg.uninstall, "wiki", wait="watcher", timeout=HELM_TIMEOUT)
        assert await in_thread(cfg.list) == []
