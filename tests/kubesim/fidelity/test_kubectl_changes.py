"""Fidelity with ``kubectl`` commands that change objects in less common ways.

Server-side apply (``apply --server-side``) with field-manager conflicts,
``diff`` (a server-side dry-run apply; exit status 1 means "differs"),
``rollout restart``/``undo`` (template patches the simulator must roll out
again), ``label``/``annotate``/``patch``, ``delete --cascade=foreground`` (the owner
stays until its dependents are gone), and imperative ``create <kind>``, which
uses client-go's typed clients and therefore protobuf request bodies.
"""

from __future__ import annotations

import json

from tests.support import manifests
from tests.support.kubectl import Kubectl

CONFIG = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: flags
data:
  colour: {colour}
"""


async def test_server_side_apply_conflicts_and_force(kubectl: Kubectl, namespace: str) -> None:
    ns = f"--namespace={namespace}"
    out = await kubectl.ok(
        ns, "apply", "--server-side", "--field-manager=alice", "-f", "-",
        stdin=CONFIG.format(colour="red"),
    )  # fmt: skip
    assert out.strip() == "configmap/flags serverside-applied"
    result = await kubectl.run(
        ns, "apply", "--server-side", "--field-manager=bob", "-f", "-",
        stdin=CONFIG.format(colour="blue"),
    )  # fmt: skip
    assert result.code == 1
    assert "conflict" in result.err.lower()
    assert "alice" in result.err
    assert ".data.colour" in result.err
    await kubectl.ok(
        ns, "apply", "--server-side", "--field-manager=bob", "--force-conflicts", "-f", "-",
        stdin=CONFIG.format(colour="blue"),
    )  # fmt: skip
    cm = json.loads(
        await kubectl.ok(ns, "get", "configmap/flags", "-o", "json", "--show-managed-fields")
    )
    assert cm["data"] == {"colour": "blue"}
    managers = {entry["manager"]: entry["operation"] for entry in cm["metadata"]["managedFields"]}
    assert managers.get("bob") == "Apply"


async def test_diff_reports_changes_without_making_them(kubectl: Kubectl, namespace: str) -> None:
    ns = f"--namespace={namespace}"
    await kubectl.ok(ns, "apply", "-f", "-", stdin=CONFIG.format(colour="red"))
    same = await kubectl.run(ns, "diff", "-f", "-", stdin=CONFIG.format(colour="red"))
    assert (same.code, same.out, same.err) == (0, "", "")
    changed = await kubectl.run(ns, "diff", "-f", "-", stdin=CONFIG.format(colour="green"))
    assert changed.code == 1, changed.err
    assert "-  colour: red" in changed.out
    assert "+  colour: green" in changed.out
    # diff is a dry run: nothing changed
    colour = await kubectl.ok(ns, "get", "configmap/flags", "-o", "jsonpath={.data.colour}")
    assert colour == "red"


async def test_rollout_restart_and_undo(kubectl: Kubectl, namespace: str) -> None:
    ns = f"--namespace={namespace}"
    await kubectl.ok(ns, "apply", "-f", "-", stdin=manifests.deployment("web", replicas=1))
    await kubectl.ok(ns, "rollout", "status", "deployment/web", "--timeout=30s", deadline=40)
    out = await kubectl.ok(ns, "rollout", "restart", "deployment/web")
    assert out.strip() == "deployment.apps/web restarted"
    await kubectl.ok(ns, "rollout", "status", "deployment/web", "--timeout=30s", deadline=40)
    replicasets = await kubectl.ok(ns, "get", "rs", "-l", "app=web", "-o", "json")
    assert len(json.loads(replicasets)["items"]) == 2

    await kubectl.ok(ns, "set", "image", "deployment/web", "main=nginx:1.28")
    await kubectl.ok(ns, "rollout", "status", "deployment/web", "--timeout=30s", deadline=40)
    out = await kubectl.ok(ns, "rollout", "undo", "deployment/web")
    assert out.strip() == "deployment.apps/web rolled back"
    await kubectl.ok(ns, "rollout", "status", "deployment/web", "--timeout=30s", deadline=40)
    image = await kubectl.ok(
        ns, "get", "deployment/web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"
    )
    assert image == "nginx:1.27"


async def test_label_annotate_and_patch(kubectl: Kubectl, namespace: str) -> None:
    ns = f"--namespace={namespace}"
    await kubectl.ok(ns, "apply", "-f", "-", stdin=CONFIG.format(colour="red"))
    assert (await kubectl.ok(ns, "label", "configmap/flags", "team=blue")).strip() == (
        "configmap/flags labeled"
    )
    assert (await kubectl.ok(ns, "annotate", "configmap/flags", "note=hi")).strip() == (
        "configmap/flags annotated"
    )
    out = await kubectl.ok(ns, "patch", "configmap/flags", "-p", '{"data":{"size":"L"}}')
    assert out.strip() == "configmap/flags patched"
    out = await kubectl.ok(
        ns, "patch", "configmap/flags", "--type=json",
        "-p", '[{"op":"remove","path":"/data/colour"}]',
    )  # fmt: skip
    assert out.strip() == "configmap/flags patched"
    cm = json.loads(await kubectl.ok(ns, "get", "configmap/flags", "-o", "json"))
    assert cm["data"] == {"size": "L"}
    assert cm["metadata"]["labels"] == {"team": "blue"}
    assert cm["metadata"]["annotations"]["note"] == "hi"
    listed = await kubectl.ok(ns, "get", "configmaps", "-l", "team=blue", "-o", "name")
    assert listed.split() == ["configmap/flags"]


async def test_delete_with_foreground_cascade_removes_dependents_first(
    kubectl: Kubectl, namespace: str
) -> None:
    ns = f"--namespace={namespace}"
    await kubectl.ok(ns, "apply", "-f", "-", stdin=manifests.deployment("web", replicas=2))
    await kubectl.ok(ns, "rollout", "status", "deployment/web", "--timeout=30s", deadline=40)
    out = await kubectl.ok(
        ns, "delete", "deployment/web", "--cascade=foreground", "--timeout=30s", deadline=40
    )
    assert out.strip() == 'deployment.apps "web" deleted'
    # kubectl waited for the owner, which foreground deletion removes after its dependents
    leftovers = await kubectl.ok(ns, "get", "deploy,rs", "-o", "name")
    assert leftovers == ""


async def test_imperative_create_of_core_kinds(kubectl: Kubectl) -> None:
    # `kubectl create <kind>` goes through client-go's typed clients, which send
    # protobuf request bodies rather than JSON
    assert (await kubectl.ok("create", "namespace", "imperative")).strip() == (
        "namespace/imperative created"
    )
    ns = "--namespace=imperative"
    out = await kubectl.ok(ns, "create", "configmap", "conf", "--from-literal=mode=fast")
    assert out.strip() == "configmap/conf created"
    out = await kubectl.ok(ns, "create", "secret", "generic", "pw", "--from-literal=pw=s3cret")
    assert out.strip() == "secret/pw created"
    out = await kubectl.ok(ns, "create", "serviceaccount", "bot")
    assert out.strip() == "serviceaccount/bot created"

    conf = json.loads(await kubectl.ok(ns, "get", "configmap/conf", "-o", "json"))
    assert conf["data"] == {"mode": "fast"}
    secret = json.loads(await kubectl.ok(ns, "get", "secret/pw", "-o", "json"))
    assert secret["type"] == "Opaque"
    assert secret["data"] == {"pw": "czNjcmV0"}  # base64 of "s3cret"
    out = await kubectl.ok(ns, "delete", "configmap/conf", "secret/pw", "serviceaccount/bot")
    assert out.splitlines() == [
        'configmap "conf" deleted',
        'secret "pw" deleted',
        'serviceaccount "bot" deleted',
    ]


async def test_imperative_create_of_workloads(kubectl: Kubectl, namespace: str) -> None:
    # typed clients send protobuf for apps/v1 and batch/v1 kinds as well
    ns = f"--namespace={namespace}"
    out = await kubectl.ok(ns, "create", "deployment", "api", "--image=nginx:1.27", "--replicas=2")
    assert out.strip() == "deployment.apps/api created"
    out = await kubectl.ok(ns, "create", "job", "once", "--image=busybox")
    assert out.strip() == "job.batch/once created"
    out = await kubectl.ok(ns, "create", "service", "clusterip", "api", "--tcp=80:8080")
    assert out.strip() == "service/api created"
    await kubectl.ok(ns, "rollout", "status", "deployment/api", "--timeout=30s", deadline=40)
    await kubectl.ok(
        ns, "wait", "--for=condition=complete", "job/once", "--timeout=30s", deadline=40
    )
    deployment = json.loads(await kubectl.ok(ns, "get", "deployment/api", "-o", "json"))
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "api"}}
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    service = json.loads(await kubectl.ok(ns, "get", "service/api", "-o", "json"))
    assert service["spec"]["ports"][0]["port"] == 80
    assert service["spec"]["ports"][0]["targetPort"] == 8080
