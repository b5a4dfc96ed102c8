"""Fidelity check with a client nobody here wrote: kubectl's rollout and wait logic read
the status the simulator writes (kubectl is installed by `make tools`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from kubesim.server import KubeSim
from tests.support.kubectl import Kubectl
from tests.support.sim_objects import FAST_TIMINGS

OBJECTS = """
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {sim.kubesim.io/logs: "hello\\nworld"}
    spec:
      containers: [{name: nginx, image: nginx}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: install, namespace: demo}
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations: {sim.kubesim.io/fail: ExitError}
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
"""


@pytest.fixture
async def kubeconfig(tmp_path: Path) -> AsyncIterator[Path]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"timings": FAST_TIMINGS}))
    config = tmp_path / "kubeconfig"
    async with KubeSim(port=0, kubeconfig=config, rules=rules):
        yield config


async def ok(kubectl: Kubectl, *args: str, stdin: str | None = None) -> str:
    """Run kubectl, insist on exit status 0, return stdout (stderr carries notices such as
    "Found 2 pods, using pod/...")."""
    return (await kubectl.succeed(*args, stdin=stdin, deadline=60)).out


async def test_kubectl_sees_rollouts_and_job_failure(kubeconfig: Path, tmp_path: Path) -> None:
    kubectl = Kubectl(kubeconfig, tmp_path / "home")
    await ok(kubectl, "apply", "--server-side", "-f", "-", stdin=OBJECTS)
    out = await ok(kubectl, "-n", "demo", "rollout", "status", "deploy/web", "--timeout=30s")
    assert 'deployment "web" successfully rolled out' in out
    await ok(kubectl, "-n", "demo", "set", "image", "deploy/web", "nginx=nginx:2")
    out = await ok(kubectl, "-n", "demo", "rollout", "status", "deploy/web", "--timeout=30s")
    assert "successfully rolled out" in out
    await ok(
        kubectl, "-n", "demo", "wait", "--for=condition=failed", "job/install", "--timeout=30s"
    )
    out = await ok(kubectl, "-n", "demo", "logs", "deploy/web")
    assert out.splitlines()[-2:] == ["hello", "world"]
