"""The kubectl built with the control plane, against realkube: the everyday verbs work, and
pods behave as the ``sim.kubesim.io/*`` annotations say (running, ready, failing, logs).

Every kubectl call has a deadline (``--timeout`` where kubectl waits, and the process's own
deadline); waits are kubectl's own watches, never sleeps.
"""

from __future__ import annotations

import pytest

from tests.support.kubectl import Kubectl
from tests.support.realkube_thread import RealKubeThread

pytestmark = pytest.mark.slow

WAIT = "--timeout=90s"
DEADLINE = 120.0


class BuiltKubectl(Kubectl):
    """The fidelity suite's kubectl runner, pointed at the kubectl `make kube` built."""

    def __init__(self, cluster: RealKubeThread, home, namespace: str) -> None:
        super().__init__(cluster.kubeconfig, home)
        self.binary = str(cluster.kubectl)
        self.namespace = namespace

    def _argv(self, args: tuple[str, ...]) -> list[str]:
        argv = super()._argv(args)
        return [self.binary, f"--namespace={self.namespace}", *argv[1:]]


@pytest.fixture
def kubectl(realkube: RealKubeThread, realkube_namespace: str, tmp_path) -> BuiltKubectl:
    return BuiltKubectl(realkube, tmp_path / "home", realkube_namespace)


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
      annotations:
        sim.kubesim.io/ready-after: 1s
    spec:
      containers:
      - name: web
        image: nginx:1.27
"""

JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: counter
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations:
        sim.kubesim.io/run-for: 3s
        sim.kubesim.io/logs: "one\\ntwo\\nthree"
    spec:
      restartPolicy: Never
      containers:
      - name: count
        image: busybox:1.36
"""


async def test_version_is_the_release(kubectl: BuiltKubectl) -> None:
    out = await kubectl.ok("version", "-o", "json", deadline=DEADLINE)
    assert '"gitVersion": "v1.36.' in out
    assert out.count('"gitVersion": "v1.36.') == 2  # client and server of the same release


async def test_apply_rollout_scale_wait_delete(kubectl: BuiltKubectl) -> None:
    await kubectl.succeed("apply", "-f", "-", stdin=DEPLOYMENT, deadline=DEADLINE)
    out = await kubectl.ok("rollout", "status", "deployment/web", WAIT, deadline=DEADLINE)
    assert "successfully rolled out" in out

    await kubectl.ok("scale", "deployment/web", "--replicas=3", deadline=DEADLINE)
    await kubectl.ok("rollout", "status", "deployment/web", WAIT, deadline=DEADLINE)
    await kubectl.ok("wait", "--for=condition=Available", "deployment/web", WAIT, deadline=DEADLINE)
    await kubectl.ok(
        "wait", "--for=condition=Ready", "pod", "-l", "app=web", WAIT, deadline=DEADLINE
    )
    ready = await kubectl.ok(
        "get", "deployment/web", "-o", "jsonpath={.status.readyReplicas}", deadline=DEADLINE
    )
    assert ready == "3"

    await kubectl.ok("delete", "deployment/web", "--wait", WAIT, deadline=DEADLINE)
    await kubectl.ok("wait", "--for=delete", "pod", "-l", "app=web", WAIT, deadline=DEADLINE)
    left = await kubectl.run("get", "deployment/web", deadline=DEADLINE)
    assert left.code != 0
    assert "NotFound" in left.err


async def test_logs_follow_a_job_until_it_ends(kubectl: BuiltKubectl) -> None:
    await kubectl.succeed("apply", "-f", "-", stdin=JOB, deadline=DEADLINE)
    async with kubectl.stream("logs", "-f", "job/counter", "--pod-running-timeout=60s") as logs:
        assert await logs.until("one", within=60) == "one"
        assert await logs.until("three", within=30) == "three"
        # The stream ends by itself once the container has exited.
        assert await logs.readline(within=30) is None
        assert await logs.wait_exit(within=30) == 0
    assert logs.lines == ["one", "two", "three"]
    await kubectl.ok("wait", "--for=condition=Complete", "job/counter", WAIT, deadline=DEADLINE)
    again = await kubectl.ok("logs", "job/counter", "--timestamps", deadline=DEADLINE)
    assert [line.split(" ", 1)[1] for line in again.splitlines()] == ["one", "two", "three"]


def _pod(name: str, fail: str, restart_policy: str = "Always") -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  annotations:
    sim.kubesim.io/fail: {fail}
    sim.kubesim.io/run-for: 1s
spec:
  restartPolicy: {restart_policy}
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: example.invalid/app:1
"""


@pytest.mark.parametrize(
    ("fail", "restart_policy", "jsonpath"),
    [
        (
            "ImagePullBackOff",
            "Always",
            "{.status.containerStatuses[0].state.waiting.reason}=ImagePullBackOff",
        ),
        (
            "CrashLoopBackOff",
            "Always",
            "{.status.containerStatuses[0].state.waiting.reason}=CrashLoopBackOff",
        ),
        (
            "InvalidImageName",
            "Always",
            "{.status.containerStatuses[0].state.waiting.reason}=InvalidImageName",
        ),
        (
            "Unschedulable",
            "Always",
            '{.status.conditions[?(@.type=="PodScheduled")].reason}=Unschedulable',
        ),
        ("ExitError", "Never", "{.status.phase}=Failed"),
    ],
)
async def test_fail_modes(
    kubectl: BuiltKubectl, fail: str, restart_policy: str, jsonpath: str
) -> None:
    await kubectl.succeed(
        "apply", "-f", "-", stdin=_pod("sick", fail, restart_policy), deadline=DEADLINE
    )
    await kubectl.ok("wait", f"--for=jsonpath={jsonpath}", "pod/sick", WAIT, deadline=DEADLINE)
    if fail == "CrashLoopBackOff":
        await kubectl.ok(
            "wait",
            "--for=jsonpath={.status.containerStatuses[0].restartCount}=1",
            "pod/sick",
            WAIT,
            deadline=DEADLINE,
        )
    if fail == "ExitError":
        code = await kubectl.ok(
            "get",
            "pod/sick",
            "-o",
            "jsonpath={.status.containerStatuses[0].state.terminated.exitCode}",
            deadline=DEADLINE,
        )
        assert code == "1"
    if fail == "Unschedulable":
        message = await kubectl.ok(
            "get",
            "pod/sick",
            "-o",
            'jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}',
            deadline=DEADLINE,
        )
        assert "didn't match Pod's node affinity/selector" in message
    await kubectl.ok("delete", "pod/sick", "--wait", WAIT, deadline=DEADLINE)


async def test_namespace_deletion(realkube: RealKubeThread, tmp_path) -> None:
    namespace = realkube.new_namespace("rk-doomed")
    kubectl = BuiltKubectl(realkube, tmp_path / "home", namespace)
    await kubectl.succeed("apply", "-f", "-", stdin=DEPLOYMENT, deadline=DEADLINE)
    await kubectl.ok("rollout", "status", "deployment/web", WAIT, deadline=DEADLINE)
    # kubectl warns that a namespace is cluster-scoped (this kubectl passes --namespace).
    await kubectl.succeed("delete", "namespace", namespace, "--wait", WAIT, deadline=DEADLINE)
    gone = await kubectl.run("get", "namespace", namespace, deadline=DEADLINE)
    assert gone.code != 0
    assert "NotFound" in gone.err
