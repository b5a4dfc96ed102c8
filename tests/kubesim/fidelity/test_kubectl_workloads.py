"""Fidelity with ``kubectl`` against kubesim's workload simulator.

kubectl's own wait logic is the judge here: ``rollout status`` reads
Deployment/ReplicaSet status fields and generations, ``wait --for=condition``
reads conditions, ``logs -f`` follows the log stream until the container
terminates, ``delete ns --wait`` watches until the namespace is gone, and
``get -w`` prints rows from a watch. Each kubectl call has a deadline; the
simulator runs with its default timings (ready in about a second).
"""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp

from tests.support import manifests
from tests.support.kubectl import Kubectl
from tests.support.waiting import eventually


async def test_rollout_status_wait_available_and_scale(kubectl: Kubectl, namespace: str) -> None:
    ns = f"--namespace={namespace}"
    out = await kubectl.ok(ns, "apply", "-f", "-", stdin=manifests.deployment("web", replicas=2))
    assert out.strip() == "deployment.apps/web created"

    out = await kubectl.ok(ns, "rollout", "status", "deployment/web", "--timeout=30s", deadline=40)
    assert 'deployment "web" successfully rolled out' in out
    out = await kubectl.ok(
        ns, "wait", "--for=condition=Available", "deployment/web", "--timeout=30s", deadline=40
    )
    assert out.strip() == "deployment.apps/web condition met"

    out = await kubectl.ok(ns, "scale", "deployment/web", "--replicas=3")
    assert out.strip() == "deployment.apps/web scaled"
    out = await kubectl.ok(ns, "rollout", "status", "deployment/web", "--timeout=30s", deadline=40)
    assert 'deployment "web" successfully rolled out' in out
    status = json.loads(await kubectl.ok(ns, "get", "deployment/web", "-o", "jsonpath={.status}"))
    assert status["replicas"] == 3
    assert status["readyReplicas"] == 3
    assert status["availableReplicas"] == 3
    assert status["updatedReplicas"] == 3
    pods = await kubectl.ok(ns, "get", "pods", "-l", "app=web", "--no-headers")
    rows = [line.split() for line in pods.splitlines()]
    assert len(rows) == 3
    assert all(row[1:3] == ["1/1", "Running"] for row in rows), pods


async def test_rollout_status_follows_an_image_change(kubectl: Kubectl, namespace: str) -> None:
    ns = f"--namespace={namespace}"
    await kubectl.ok(ns, "apply", "-f", "-", stdin=manifests.deployment("api", replicas=2))
    await kubectl.ok(ns, "rollout", "status", "deployment/api", "--timeout=30s", deadline=40)
    out = await kubectl.ok(ns, "set", "image", "deployment/api", "main=nginx:1.28")
    assert out.strip() == "deployment.apps/api image updated"
    out = await kubectl.ok(ns, "rollout", "status", "deployment/api", "--timeout=30s", deadline=40)
    assert 'deployment "api" successfully rolled out' in out
    images = await kubectl.ok(
        ns, "get", "pods", "-l", "app=api", "-o", "jsonpath={.items[*].spec.containers[0].image}"
    )
    assert images.split() == ["nginx:1.28", "nginx:1.28"]
    history = await kubectl.ok(ns, "rollout", "history", "deployment/api")
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]


async def test_rollout_status_of_statefulset_and_daemonset(
    kubectl: Kubectl, namespace: str
) -> None:
    # kubectl refuses unless spec.updateStrategy.type is RollingUpdate, which the
    # API server fills in by default when a manifest leaves it out (as these do)
    ns = f"--namespace={namespace}"
    await kubectl.ok(ns, "apply", "-f", "-", stdin=manifests.statefulset("db", replicas=2))
    await kubectl.ok(ns, "apply", "-f", "-", stdin=manifests.daemonset("agent"))
    out = await kubectl.ok(ns, "rollout", "status", "statefulset/db", "--timeout=30s", deadline=40)
    assert "partitioned roll out complete: 2 new pods have been updated" in out
    out = await kubectl.ok(ns, "rollout", "status", "daemonset/agent", "--timeout=30s", deadline=40)
    assert 'daemon set "agent" successfully rolled out' in out


async def test_wait_for_job_complete(kubectl: Kubectl, namespace: str) -> None:
    ns = f"--namespace={namespace}"
    await kubectl.ok(ns, "apply", "-f", "-", stdin=manifests.job("once", run_for="1s"))
    out = await kubectl.ok(
        ns, "wait", "--for=condition=complete", "job/once", "--timeout=30s", deadline=40
    )
    assert out.strip() == "job.batch/once condition met"
    job = json.loads(await kubectl.ok(ns, "get", "job/once", "-o", "json"))
    assert job["status"]["succeeded"] == 1
    table = await kubectl.ok(ns, "get", "job/once")
    header, row = table.splitlines()
    assert header.split()[:3] == ["NAME", "STATUS", "COMPLETIONS"]
    assert row.split()[:3] == ["once", "Complete", "1/1"]


async def test_logs_follow_streams_every_line_and_ends_with_the_container(
    kubectl: Kubectl, namespace: str
) -> None:
    ns = f"--namespace={namespace}"
    lines = [f"line {i}" for i in range(1, 6)]
    await kubectl.ok(
        ns, "apply", "-f", "-", stdin=manifests.talking_pod("talker", lines, run_for="3s")
    )
    await kubectl.ok(
        ns, "wait", "--for=condition=Ready", "pod/talker", "--timeout=30s", deadline=40
    )
    async with kubectl.stream(ns, "logs", "-f", "talker") as logs:
        received = [await logs.readline(within=10)]
        # the first line arrived while the container still runs: this is a live follow
        assert logs.proc.returncode is None
        while (line := await logs.readline(within=10)) is not None:
            received.append(line)
        assert await logs.wait_exit(within=10) == 0
        assert await logs.stderr() == ""
    assert received == lines
    phase = await kubectl.ok(ns, "get", "pod/talker", "-o", "jsonpath={.status.phase}")
    assert phase == "Succeeded"
    # a finished container still serves its whole log
    assert (await kubectl.ok(ns, "logs", "talker")).splitlines() == lines


async def test_delete_namespace_wait_returns_when_it_is_gone(kubectl: Kubectl) -> None:
    await kubectl.ok("apply", "-f", "-", stdin=manifests.namespace("doomed"))
    await kubectl.ok("--namespace=doomed", "apply", "-f", "-", stdin=manifests.deployment("web"))
    await kubectl.ok(
        "--namespace=doomed", "rollout", "status", "deployment/web", "--timeout=30s", deadline=40
    )
    started = time.monotonic()
    out = await kubectl.ok("delete", "namespace", "doomed", "--wait", "--timeout=30s", deadline=40)
    assert out.strip() == 'namespace "doomed" deleted'
    assert time.monotonic() - started < 30
    result = await kubectl.run("get", "namespace", "doomed")
    assert result.code == 1
    assert 'namespaces "doomed" not found' in result.err
    pods = await kubectl.run("get", "pods", "--namespace=doomed", "--no-headers")
    assert pods.out == ""


async def _wait_for_pod_watch(kube_api: aiohttp.ClientSession, within: float = 10) -> None:
    """Poll kubesim's stats until a watch on pods is open (kubectl gives no signal)."""
    stats: dict[str, Any] = {}

    async def pod_watch_open() -> bool:
        async with kube_api.get("/kubesim/stats") as resp:
            stats.update(await resp.json())
        return any("pods" in key for key, count in stats["watchesByResource"].items() if count)

    await eventually(
        pod_watch_open, "kubectl to open a pod watch", within=within, last=lambda: stats
    )


async def test_get_pods_watch_sees_a_new_pod_and_its_progress(
    kubectl: Kubectl, namespace: str, kube_api: aiohttp.ClientSession
) -> None:
    ns = f"--namespace={namespace}"
    async with kubectl.stream(ns, "get", "pods", "-w") as watching:
        await _wait_for_pod_watch(kube_api)
        await kubectl.ok(ns, "apply", "-f", "-", stdin=manifests.pod("newcomer"))
        first = await watching.until("newcomer", within=15)
        assert first.split()[0] == "newcomer"
        # later rows come from MODIFIED events as the simulator starts the pod
        ready = await watching.until("1/1", within=15)
        assert ready.split()[:3] == ["newcomer", "1/1", "Running"]
        assert watching.proc.returncode is None
    # rows in the order a kubelet reports them: never backwards, ready last
    progress = [line.split()[1:3] for line in watching.lines if line.startswith("newcomer")]
    order = [
        ["0/1", "Pending"],
        ["0/1", "ContainerCreating"],
        ["0/1", "Running"],
        ["1/1", "Running"],
    ]
    assert all(row in order for row in progress), progress
    positions = [order.index(row) for row in progress]
    assert positions == sorted(positions), progress
