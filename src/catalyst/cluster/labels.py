"""The labels Catalyst stamps on what it applies (contract: docs/dev/catalyst-internals.md).

Top-level objects get all four labels. Templates of objects that controllers create get
only the two *stable* labels (managed-by and environment id), so that

- controller-made Pods, ReplicaSets, Jobs and StatefulSet PVCs carry the environment label
  the watcher filters on, and
- a rebuild that changes nothing in a workload does not change its pod template (the
  revision label is never on a template), so the workload is not restarted.

Templates reached: ``spec.template`` (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
ReplicationController), ``spec.jobTemplate`` and the pod template inside it (CronJob), and
each entry of ``spec.volumeClaimTemplates`` (StatefulSet). Labels the chart set itself are
kept; ours win on a clash. The input is never mutated.

The two stable labels are also the proof of ownership: an object belongs to an environment
exactly when it carries managed-by ``catalyst`` and that environment's id
(:func:`belongs_to`). The deployer never applies over, prunes or deletes an object that does
not, whatever a render or an inventory says.
"""

from __future__ import annotations

import copy
from typing import Any

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "catalyst"
ENVIRONMENT_ID = "catalyst.io/environment-id"
CHART = "catalyst.io/chart"
REVISION = "catalyst.io/revision"


def environment_selector(environment_id: int) -> str:
    """Label selector for everything of one environment."""
    return f"{ENVIRONMENT_ID}={environment_id}"


def environment_id_of(obj: dict[str, Any]) -> int | None:
    """The environment id in the object's environment label (None: absent or not a number)."""
    metadata = obj.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    value = labels.get(ENVIRONMENT_ID) if isinstance(labels, dict) else None
    return int(value) if isinstance(value, str) and value.isdigit() else None


def ownership_selector(environment_id: int) -> str:
    """Label selector for exactly the objects :func:`belongs_to` accepts."""
    return f"{MANAGED_BY}={MANAGED_BY_VALUE},{environment_selector(environment_id)}"


def belongs_to(obj: dict[str, Any], environment_id: int) -> bool:
    """Whether the object (as the server serves it) carries this environment's labels."""
    metadata = obj.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    if not isinstance(labels, dict):
        return False
    return labels.get(MANAGED_BY) == MANAGED_BY_VALUE and labels.get(ENVIRONMENT_ID) == str(
        environment_id
    )


def template_labels(environment_id: int) -> dict[str, str]:
    """Labels for pod / job / volume-claim templates (stable across revisions)."""
    return {MANAGED_BY: MANAGED_BY_VALUE, ENVIRONMENT_ID: str(environment_id)}


def object_labels(environment_id: int, chart: str, revision: int) -> dict[str, str]:
    """Labels for every top-level applied object."""
    return {
        **template_labels(environment_id),
        CHART: chart,
        REVISION: str(revision),
    }


def _merge_labels(holder: dict[str, Any], labels: dict[str, str]) -> None:
    metadata = holder.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
        holder["metadata"] = metadata
    existing = metadata.get("labels")
    metadata["labels"] = {**(existing if isinstance(existing, dict) else {}), **labels}


def _stamp_pod_template_owner(spec: dict[str, Any], labels: dict[str, str]) -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        _merge_labels(template, labels)


def stamp_labels(
    obj: dict[str, Any], *, environment_id: int, chart: str, revision: int
) -> dict[str, Any]:
    """A copy of ``obj`` carrying Catalyst's labels on itself and on its templates."""
    stamped = copy.deepcopy(obj)
    _merge_labels(stamped, object_labels(environment_id, chart, revision))
    stable = template_labels(environment_id)
    spec = stamped.get("spec")
    if not isinstance(spec, dict):
        return stamped
    _stamp_pod_template_owner(spec, stable)
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict):
        _merge_labels(job_template, stable)
        job_spec = job_template.get("spec")
        if isinstance(job_spec, dict):
            _stamp_pod_template_owner(job_spec, stable)
    claims = spec.get("volumeClaimTemplates")
    if isinstance(claims, list):
        for claim in claims:
            if isinstance(claim, dict):
                _merge_labels(claim, stable)
    return stamped
