"""Small Helm charts written into a test's temporary directory.

``web_chart`` renders a ConfigMap, a Deployment and a Service whose replica
count, image tag, greeting and pod annotations (the simulator's
``sim.kubesim.io/*`` knobs) come from values, so an upgrade visibly changes
them; ``job_chart`` renders one Job that the simulator runs to completion.
"""

from __future__ import annotations

from pathlib import Path

WEB_TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
data:
  greeting: {{ .Values.greeting | quote }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  labels: {app: {{ .Release.Name }}-web}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}-web}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}-web}
      {{- with .Values.podAnnotations }}
      annotations: {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      containers:
      - name: web
        image: "nginx:{{ .Values.tag }}"
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-web
spec:
  selector: {app: {{ .Release.Name }}-web}
  ports: [{port: 80, targetPort: 80}]
"""

JOB_TEMPLATE = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations:
        sim.kubesim.io/run-for: {{ .Values.runFor }}
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: busybox
        command: [sh, -c, "echo migrated"]
"""


def _write_chart(root: Path, name: str, values: str, template: str) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n")
    (root / "values.yaml").write_text(values)
    (root / "templates" / f"{name}.yaml").write_text(template)
    return root


def web_chart(root: Path) -> Path:
    return _write_chart(
        root, "web", "replicas: 1\ntag: '1.27'\ngreeting: hello\npodAnnotations: {}\n", WEB_TEMPLATE
    )


def job_chart(root: Path) -> Path:
    return _write_chart(root, "migrate", "runFor: 1s\n", JOB_TEMPLATE)
