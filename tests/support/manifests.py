"""YAML manifests the fidelity tests feed to kubectl and Helm.

Kept as plain text (not dicts) because the clients under test parse YAML
themselves; each function takes only what a test varies.
"""

from __future__ import annotations


def deployment(name: str, *, replicas: int = 2, image: str = "nginx:1.27") -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {{app: {name}}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: main
        image: {image}
        ports: [{{containerPort: 80}}]
"""


def job(name: str, *, run_for: str = "1s") -> str:
    return f"""\
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations:
        sim.kubesim.io/run-for: {run_for}
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: [sh, -c, "echo done"]
"""


def talking_pod(name: str, lines: list[str], *, run_for: str) -> str:
    logs = "\\n".join(lines)
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  annotations:
    sim.kubesim.io/logs: "{logs}"
    sim.kubesim.io/run-for: {run_for}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox
"""


def pod(name: str) -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: {name}}}
spec:
  containers:
  - name: main
    image: nginx:1.27
"""


def namespace(name: str) -> str:
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"


def statefulset(name: str, *, replicas: int = 2) -> str:
    return f"""\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {name}
spec:
  serviceName: {name}
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: main
        image: postgres:16
"""


def daemonset(name: str) -> str:
    return f"""\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {name}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: main
        image: busybox
"""
