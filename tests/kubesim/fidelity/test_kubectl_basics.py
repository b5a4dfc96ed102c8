"""Fidelity with kubectl (a client nobody here wrote), run as a subprocess.

Covers apply -f (create, unchanged, configured), get -o json, table output,
get -w, delete --wait, namespace deletion, scale, and with the simulator
rollout status, wait --for=condition and logs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubesim.server import KubeSim
from tests.support.kubectl import Kubectl

MANIFEST = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
  labels: {app: demo}
data:
  a: "{value}"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: c
        image: nginx
"""


@pytest.fixture
def kubectl(kubesim: KubeSim, tmp_path: Path) -> Kubectl:
    assert kubesim.kubeconfig_path is not None
    return Kubectl(kubesim.kubeconfig_path, tmp_path / "home")


async def output(
    kubectl: Kubectl, *args: str, stdin: str | None = None, deadline: float = 30
) -> str:
    """Run kubectl, insist on exit status 0, return stdout."""
    return (await kubectl.succeed(*args, stdin=stdin, deadline=deadline)).out


async def test_apply_get_and_reapply(kubectl: Kubectl) -> None:
    out = await output(kubectl, "apply", "-f", "-", stdin=MANIFEST.replace("{value}", "1"))
    assert "configmap/demo created" in out
    assert "deployment.apps/web created" in out
    out = await output(kubectl, "apply", "-f", "-", stdin=MANIFEST.replace("{value}", "1"))
    assert "configmap/demo unchanged" in out
    out = await output(kubectl, "apply", "-f", "-", stdin=MANIFEST.replace("{value}", "2"))
    assert "configmap/demo configured" in out
    cm = json.loads(await output(kubectl, "get", "configmap", "demo", "-o", "json"))
    assert cm["data"] == {"a": "2"}
    assert cm["metadata"]["labels"] == {"app": "demo"}
    table = await output(kubectl, "get", "cm", "demo")
    header, row = table.splitlines()[:2]
    assert header.split() == ["NAME", "DATA", "AGE"]
    assert row.split()[:2] == ["demo", "1"]
    deploys = await output(kubectl, "get", "deploy")
    assert deploys.splitlines()[0].split()[:2] == ["NAME", "READY"]


async def test_get_watch_sees_an_event_arrive(kubectl: Kubectl) -> None:
    # With one object present kubectl prints it first, which tells us the watch is open.
    await output(
        kubectl,
        "create",
        "-f",
        "-",
        stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: early}\n",
    )
    async with kubectl.stream("get", "configmaps", "-w", "--output-watch-events") as watch:
        await watch.until("early", 20)
        await output(
            kubectl,
            "create",
            "-f",
            "-",
            stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late}\n",
        )
        line = await watch.until("late", 20)
        assert line.split()[:2] == ["ADDED", "late"]


async def test_delete_wait_and_namespace_deletion(kubectl: Kubectl) -> None:
    await output(
        kubectl,
        "apply",
        "-f",
        "-",
        stdin="apiVersion: v1\nkind: Namespace\nmetadata: {name: doomed}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: doomed}\n",
    )
    out = await output(
        kubectl, "delete", "configmap", "x", "-n", "doomed", "--wait", "--timeout=20s"
    )
    assert 'configmap "x" deleted' in out
    out = await output(kubectl, "delete", "namespace", "doomed", "--wait", "--timeout=20s")
    assert 'namespace "doomed" deleted' in out
    result = await kubectl.run("get", "namespace", "doomed")
    assert result.code != 0
    assert 'namespaces "doomed" not found' in result.err


async def test_scale(kubectl: Kubectl) -> None:
    await output(kubectl, "apply", "-f", "-", stdin=MANIFEST.replace("{value}", "1"))
    out = await output(kubectl, "scale", "deployment", "web", "--replicas=3")
    assert "deployment.apps/web scaled" in out
    replicas = await output(kubectl, "get", "deploy", "web", "-o", "jsonpath={.spec.replicas}")
    assert replicas == "3"


async def test_rollout_status_and_wait_with_simulator(kubesim: KubeSim, kubectl: Kubectl) -> None:
    if kubesim.simulator is None:
        pytest.fail("the simulator did not start")
    await output(kubectl, "apply", "-f", "-", stdin=MANIFEST.replace("{value}", "1"))
    out = await output(kubectl, "rollout", "status", "deployment/web", "--timeout=30s", deadline=40)
    assert "successfully rolled out" in out
    out = await output(
        kubectl, "wait", "--for=condition=Available", "deployment/web", "--timeout=30s", deadline=40
    )
    assert "condition met" in out


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: talker
  annotations:
    sim.kubesim.io/logs: "line one\\nline two\\nline three"
    sim.kubesim.io/run-for: 1s
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox
"""


async def test_wait_ready_and_follow_logs_with_simulator(
    kubesim: KubeSim, kubectl: Kubectl
) -> None:
    if kubesim.simulator is None:
        pytest.fail("the simulator did not start")
    await output(kubectl, "apply", "-f", "-", stdin=POD)
    out = await output(
        kubectl, "wait", "--for=condition=Ready", "pod/talker", "--timeout=30s", deadline=40
    )
    assert "condition met" in out
    # -f returns once the container terminates, with every line it wrote
    logs = await output(kubectl, "logs", "-f", "talker", deadline=40)
    assert logs.splitlines() == ["line one", "line two", "line three"]
