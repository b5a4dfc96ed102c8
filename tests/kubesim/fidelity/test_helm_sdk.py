"""Fidelity with Helm 4 through its Go SDK (``helm_python``, client-go inside).

Helm exercises what a deploy tool needs: discovery and ``/version``, server-side
apply of the rendered objects, release storage in typed Secrets (client-go's
typed clients speak protobuf), the kstatus "watcher" waiter that decides
readiness from status fields alone, and deletion on uninstall. The SDK is
blocking CGo, so every call runs in a worker thread while kubesim serves from
the test's event loop; Helm's own ``timeout`` bounds its waits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.support.helm_charts import job_chart, web_chart
from tests.support.threads import fetch, in_thread
from tests.support.waiting import eventually

HELM_TIMEOUT = 30  # seconds Helm may wait for readiness; below the thread deadline
POLL = 0.1  # garbage collection has no single event to await: poll for its outcome


@pytest.fixture
def helm_config(kubeconfig: Path, namespace: str) -> Iterator[helm.Config]:
    with helm.Config(kubeconfig_path=kubeconfig, namespace=namespace) as cfg:
        yield cfg


async def _gone(read: Callable[[], Any]) -> bool:
    try:
        await in_thread(read)
    except ApiException as exc:
        if exc.status == 404:
            return True
        raise
    return False


async def _release_secrets(k8s: client.ApiClient, namespace: str, release: str) -> list[Any]:
    core = client.CoreV1Api(k8s)
    selector = f"owner=helm,name={release}"
    listed = await fetch(k8s, core.list_namespaced_secret, namespace, label_selector=selector)
    return sorted(listed["items"], key=lambda s: s["metadata"]["name"])


async def test_install_upgrade_uninstall(
    helm_config: helm.Config, k8s: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    chart = web_chart(tmp_path / "chart")
    core, apps = client.CoreV1Api(k8s), client.AppsV1Api(k8s)

    release = await in_thread(helm_config.install, chart, "shop", {"greeting": "hi"})
    assert release["status"] == "deployed"
    assert release["revision"] == 1
    settings = await fetch(k8s, core.read_namespaced_config_map, "shop-settings", namespace)
    assert settings["data"] == {"greeting": "hi"}
    web = await fetch(k8s, apps.read_namespaced_deployment, "shop-web", namespace)
    assert web["spec"]["replicas"] == 1
    assert web["metadata"]["labels"]["app"] == "shop-web"
    service = await fetch(k8s, core.read_namespaced_service, "shop-web", namespace)
    assert service["spec"]["ports"][0]["port"] == 80
    secrets = await _release_secrets(k8s, namespace, "shop")
    assert [s["metadata"]["name"] for s in secrets] == ["sh.helm.release.v1.shop.v1"]
    assert secrets[0]["metadata"]["labels"]["status"] == "deployed"
    assert secrets[0]["type"] == "helm.sh/release.v1"
    listed = await in_thread(helm_config.list)
    assert [(r["name"], r["status"], r["revision"]) for r in listed] == [("shop", "deployed", 1)]

    upgraded = await in_thread(
        helm_config.upgrade,
        chart,
        "shop",
        {"greeting": "hello again", "replicas": 3, "tag": "1.28"},
    )
    assert upgraded["revision"] == 2
    web = await fetch(k8s, apps.read_namespaced_deployment, "shop-web", namespace)
    assert web["spec"]["replicas"] == 3
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert web["metadata"]["generation"] == 2
    settings = await fetch(k8s, core.read_namespaced_config_map, "shop-settings", namespace)
    assert settings["data"] == {"greeting": "hello again"}
    secrets = await _release_secrets(k8s, namespace, "shop")
    assert [(s["metadata"]["name"], s["metadata"]["labels"]["status"]) for s in secrets] == [
        ("sh.helm.release.v1.shop.v1", "superseded"),
        ("sh.helm.release.v1.shop.v2", "deployed"),
    ]
    history = await in_thread(helm_config.history, "shop")
    assert [r["revision"] for r in history] == [1, 2]

    await in_thread(helm_config.uninstall, "shop", wait="watcher", timeout=HELM_TIMEOUT)
    for read in (
        lambda: core.read_namespaced_config_map("shop-settings", namespace),
        lambda: apps.read_namespaced_deployment("shop-web", namespace),
        lambda: core.read_namespaced_service("shop-web", namespace),
    ):
        assert await _gone(read)
    assert await _release_secrets(k8s, namespace, "shop") == []
    assert await in_thread(helm_config.list) == []

    async def workload_collected() -> bool:
        pods = await in_thread(core.list_namespaced_pod, namespace)
        sets = await in_thread(apps.list_namespaced_replica_set, namespace)
        return not pods.items and not sets.items

    await eventually(
        workload_collected,
        "the garbage collector to remove the release's workloads",
        within=15,
        interval=POLL,
    )


async def test_install_with_watcher_waits_until_the_deployment_is_ready(
    helm_config: helm.Config, k8s: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    chart = web_chart(tmp_path / "chart")
    apps = client.AppsV1Api(k8s)
    release = await in_thread(
        helm_config.install, chart, "ready", {"replicas": 2}, wait="watcher", timeout=HELM_TIMEOUT
    )
    assert release["status"] == "deployed"
    # Helm returned only because kstatus judged the Deployment Current from its status
    status = (await fetch(k8s, apps.read_namespaced_deployment_status, "ready-web", namespace))[
        "status"
    ]
    assert status["readyReplicas"] == 2
    assert status["availableReplicas"] == 2
    assert status["updatedReplicas"] == 2
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions["Available"] == "True"

    upgraded = await in_thread(
        helm_config.upgrade, chart, "ready", {"replicas": 3}, wait="watcher", timeout=HELM_TIMEOUT
    )
    assert upgraded["status"] == "deployed"
    status = (await fetch(k8s, apps.read_namespaced_deployment_status, "ready-web", namespace))[
        "status"
    ]
    assert status["readyReplicas"] == 3


async def test_install_job_chart_runs_it_to_completion(
    helm_config: helm.Config, k8s: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    chart = job_chart(tmp_path / "chart")
    batch, core = client.BatchV1Api(k8s), client.CoreV1Api(k8s)
    release = await in_thread(
        helm_config.install, chart, "db", None, wait="watcher", timeout=HELM_TIMEOUT
    )
    assert release["status"] == "deployed"

    async def job_complete() -> bool:
        job = await fetch(k8s, batch.read_namespaced_job_status, "db-migrate", namespace)
        conditions = {c["type"]: c["status"] for c in job["status"].get("conditions", [])}
        return conditions.get("Complete") == "True" and job["status"].get("succeeded") == 1

    await eventually(job_complete, "the Job to complete", within=15, interval=POLL)
    pods = await fetch(
        k8s, core.list_namespaced_pod, namespace, label_selector="job-name=db-migrate"
    )
    assert [p["status"]["phase"] for p in pods["items"]] == ["Succeeded"]

    await in_thread(helm_config.uninstall, "db", wait="watcher", timeout=HELM_TIMEOUT)
    assert await _gone(lambda: batch.read_namespaced_job("db-migrate", namespace))

    async def pods_collected() -> bool:
        left = await in_thread(core.list_namespaced_pod, namespace)
        return not left.items

    await eventually(
        pods_collected, "the garbage collector to remove the pods", within=15, interval=POLL
    )


async def test_server_dry_run_upgrade_then_rollback(
    helm_config: helm.Config, k8s: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    chart = web_chart(tmp_path / "chart")
    apps = client.AppsV1Api(k8s)
    await in_thread(helm_config.install, chart, "app", {"replicas": 1})
    dry = await in_thread(helm_config.upgrade, chart, "app", {"replicas": 4}, dry_run="server")
    assert "replicas: 4" in dry["manifest"]
    web = await fetch(k8s, apps.read_namespaced_deployment, "app-web", namespace)
    assert web["spec"]["replicas"] == 1, "a server-side dry run must not persist anything"

    await in_thread(helm_config.upgrade, chart, "app", {"replicas": 2, "tag": "1.28"})
    await in_thread(helm_config.rollback, "app", version=1)
    web = await fetch(k8s, apps.read_namespaced_deployment, "app-web", namespace)
    assert web["spec"]["replicas"] == 1
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    history = await in_thread(helm_config.history, "app")
    assert [(r["revision"], r["status"]) for r in history] == [
        (1, "superseded"),
        (2, "superseded"),
        (3, "deployed"),
    ]


async def test_watcher_reports_a_deployment_that_never_becomes_ready(
    helm_config: helm.Config, namespace: str, tmp_path: Path
) -> None:
    # the simulator keeps these pods in ImagePullBackOff, so kstatus never sees
    # the Deployment ready and Helm must give up at its timeout
    chart = web_chart(tmp_path / "chart")
    values = {"podAnnotations": {"sim.kubesim.io/fail": "ImagePullBackOff"}}
    with pytest.raises(helm.HelmError) as failed:
        await in_thread(helm_config.install, chart, "broken", values, wait="watcher", timeout=3)
    assert "context deadline exceeded" in str(failed.value), failed.value
    releases = await in_thread(helm_config.list, all_states=True)
    assert [(r["name"], r["status"]) for r in releases] == [("broken", "failed")]
