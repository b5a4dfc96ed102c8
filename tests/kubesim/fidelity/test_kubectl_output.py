"""``kubectl get`` prints every common kind the way it does against a real cluster.

kubectl asks for server-side Tables (``as=Table;g=meta.k8s.io;v=v1``); a wrong
Table shape shows up as "unable to decode", missing or extra columns, or
falling back to NAME/AGE only. Each test checks the header (kubectl's default
columns for that kind), one row per object, and an empty stderr. Headers are
split on runs of two or more spaces, since several column names hold a space.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.support import manifests
from tests.support.kubectl import Kubectl

EVERYTHING = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: "1", b: "2"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
type: Opaque
stringData: {user: admin}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: robot}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: main, image: postgres:16}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: main, image: busybox}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: main, image: busybox}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: web.example.test
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: web, port: {number: 80}}}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: leader}
spec: {holderIdentity: replica-1, leaseDurationSeconds: 15}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: robot-reads}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: robot}]
"""

# kubectl's default columns per kind (server-side printing of Kubernetes 1.32).
HEADERS = {
    "pods": ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
    "deployments": ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
    "replicasets": ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
    "statefulsets": ["NAME", "READY", "AGE"],
    "daemonsets": [
        "NAME",
        "DESIRED",
        "CURRENT",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "NODE SELECTOR",
        "AGE",
    ],
    "jobs": ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"],
    "cronjobs": ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"],
    "services": ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
    "configmaps": ["NAME", "DATA", "AGE"],
    "secrets": ["NAME", "TYPE", "DATA", "AGE"],
    "serviceaccounts": ["NAME", "SECRETS", "AGE"],
    "persistentvolumeclaims": [
        "NAME",
        "STATUS",
        "VOLUME",
        "CAPACITY",
        "ACCESS MODES",
        "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS",
        "AGE",
    ],
    "ingresses": ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"],
    "leases": ["NAME", "HOLDER", "AGE"],
    "roles": ["NAME", "CREATED AT"],
    "rolebindings": ["NAME", "ROLE", "AGE"],
}


def columns(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


@pytest.fixture
async def populated(kubectl: Kubectl, namespace: str) -> str:
    """A namespace holding one object of every common kind, workloads rolled out."""
    ns = f"--namespace={namespace}"
    await kubectl.ok(ns, "apply", "-f", "-", stdin=EVERYTHING)
    await kubectl.ok(ns, "apply", "-f", "-", stdin=manifests.deployment("web", replicas=1))
    await kubectl.ok(ns, "apply", "-f", "-", stdin=manifests.job("once", run_for="300ms"))
    await kubectl.ok(
        ns, "wait", "--for=condition=complete", "job/once", "--timeout=30s", deadline=40
    )
    await kubectl.ok(ns, "rollout", "status", "deployment/web", "--timeout=30s", deadline=40)
    # not `rollout status`: that needs the defaulted updateStrategy (tested separately)
    await kubectl.ok(
        ns,
        "wait",
        "--for=jsonpath={.status.readyReplicas}=1",
        "statefulset/db",
        "--timeout=30s",
        deadline=40,
    )
    return namespace


async def test_get_prints_the_default_columns_for_every_kind(
    kubectl: Kubectl, populated: str
) -> None:
    # one test for all kinds: populating the namespace is the slow part
    problems: list[str] = []
    for resource, expected in HEADERS.items():
        table = await kubectl.ok(f"--namespace={populated}", "get", resource)
        header, *rows = table.splitlines()
        if columns(header) != expected:
            problems.append(f"{resource}: header {columns(header)} != {expected}")
        listed = json.loads(
            await kubectl.ok(f"--namespace={populated}", "get", resource, "-o", "json")
        )
        names = sorted(item["metadata"]["name"] for item in listed["items"])
        if sorted(row.split()[0] for row in rows) != names or not names:
            problems.append(f"{resource}: rows {rows} do not match objects {names}")
        if any(len(columns(row)) > len(expected) for row in rows):
            problems.append(f"{resource}: a row has more cells than the header: {rows}")
    assert problems == [], "\n".join(problems)


# (resource, name, leading cells as kubectl prints them; None skips a cell)
ROWS: list[tuple[str, str, list[str | None]]] = [
    ("configmap", "settings", ["settings", "2"]),
    ("secret", "creds", ["creds", "Opaque", "1"]),
    ("deployment", "web", ["web", "1/1", "1", "1"]),
    ("statefulset", "db", ["db", "1/1"]),
    ("job", "once", ["once", "Complete", "1/1"]),
    ("cronjob", "nightly", ["nightly", "0 3 * * *", "<none>", "False", "0"]),
    ("service", "web", ["web", "ClusterIP", None, "<none>", "80/TCP"]),
    ("pvc", "data", ["data", "Bound", None, "1Gi", "RWO"]),
    ("ingress", "web", ["web", "<none>", "web.example.test"]),
    ("lease", "leader", ["leader", "replica-1"]),
    ("serviceaccount", "robot", ["robot", "0"]),
    ("rolebinding", "robot-reads", ["robot-reads", "Role/reader"]),
]


async def test_get_rows_carry_the_values_of_each_kind(kubectl: Kubectl, populated: str) -> None:
    problems: list[str] = []
    for resource, name, expected in ROWS:
        out = await kubectl.ok(f"--namespace={populated}", "get", resource, name, "--no-headers")
        cells = columns(out)[: len(expected)]
        wanted = [
            cell if want is None else want for cell, want in zip(cells, expected, strict=False)
        ]
        if cells != wanted or len(cells) < len(expected):
            problems.append(f"{resource}/{name}: {cells} != {expected}")
    assert problems == [], "\n".join(problems)


async def test_cluster_scoped_kinds_and_wide_output(kubectl: Kubectl, populated: str) -> None:
    header, *rows = (await kubectl.ok("get", "nodes")).splitlines()
    assert columns(header) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert columns(rows[0])[:3] == ["kubesim-node", "Ready", "control-plane"]
    header, *rows = (await kubectl.ok("get", "namespaces")).splitlines()
    assert columns(header) == ["NAME", "STATUS", "AGE"]
    assert [populated, "Active"] in [columns(r)[:2] for r in rows]
    wide = await kubectl.ok(f"--namespace={populated}", "get", "pods", "-o", "wide")
    assert columns(wide.splitlines()[0]) == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED NODE",
        "READINESS GATES",
    ]


async def test_get_all_and_describe(kubectl: Kubectl, populated: str) -> None:
    ns = f"--namespace={populated}"
    everything = await kubectl.ok(ns, "get", "all")
    for kind in (
        "pod/web-",
        "service/web",
        "deployment.apps/web",
        "replicaset.apps/web-",
        "statefulset.apps/db",
        "daemonset.apps/agent",
        "job.batch/once",
        "cronjob.batch/nightly",
    ):
        assert kind in everything, everything
    described = await kubectl.ok(ns, "describe", "deployment", "web")
    assert re.search(
        r"^Replicas:\s+1 desired \| 1 updated \| 1 total \| 1 available", described, re.M
    )
    described = await kubectl.ok(ns, "describe", "pod", "-l", "app=web")
    assert re.search(r"^Status:\s+Running", described, re.M)
