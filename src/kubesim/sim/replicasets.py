"""ReplicaSet controller: keeps ``spec.replicas`` active pods and reports their counts.

Pods are matched by controller ownerReference (uid), not by selector, so two ReplicaSets
with overlapping selectors never fight. Active = not terminating and not Succeeded/Failed;
a Failed pod (evicted, crashed with restartPolicy Never) stays for inspection and a
replacement is created, as the real controller does. Scale-down deletes not-ready pods
first, then the newest. ``availableReplicas`` honours ``minReadySeconds`` with a timer.
"""

from __future__ import annotations

from typing import Any

from kubesim.selectors import label_selector_from_spec
from kubesim.sim.clock import Clock
from kubesim.sim.controller import Key, OwnerController
from kubesim.sim.objects import (
    POD,
    REPLICASET,
    get_condition,
    key_of,
    owned_by,
    pod_from_template,
    pod_is_active,
    pod_is_ready,
)
from kubesim.timestamps import parse_time


def available_pods(
    pods: list[dict[str, Any]], min_ready_seconds: int, clock: Clock
) -> tuple[int, float | None]:
    """(count of available pods, seconds until the next one becomes available)."""
    if min_ready_seconds <= 0:
        return sum(1 for p in pods if pod_is_ready(p)), None
    now = clock.now()
    count = 0
    wait: float | None = None
    for p in pods:
        if not pod_is_ready(p):
            continue
        since = parse_time((get_condition(p, "Ready") or {}).get("lastTransitionTime"))
        age = (now - since).total_seconds() if since else 0.0
        if age >= min_ready_seconds:
            count += 1
        else:
            left = min_ready_seconds - age
            wait = left if wait is None else min(wait, left)
    return count, wait


class ReplicaSetController(OwnerController):
    name = "replicaset-controller"
    owner = REPLICASET
    child = POD

    def reconcile(self, key: Key) -> float | None:
        namespace, name = key
        rs = self.store.get(REPLICASET, namespace, name)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return None
        spec = rs.get("spec") or {}
        want = int(spec.get("replicas", 1))
        pods = owned_by(self.store.list(POD, namespace), rs)
        active = [p for p in pods if pod_is_active(p)]
        if len(active) < want:
            for _ in range(want - len(active)):
                created = self._create_pod(rs)
                if created is not None:
                    active.append(created)
        elif len(active) > want:
            # Not-ready first, then newest first (like the real controller's ranking).
            newest_first = sorted(
                active, key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True
            )
            victims = sorted(newest_first, key=pod_is_ready)
            for pod in victims[: len(active) - want]:
                self.delete_quietly(POD, pod)
                active.remove(pod)
        return self._write_status(rs, active)

    def _create_pod(self, rs: dict[str, Any]) -> dict[str, Any] | None:
        template = (rs.get("spec") or {}).get("template") or {}
        return self.create_or_none(POD, pod_from_template(template, owner=rs))

    def _write_status(self, rs: dict[str, Any], active: list[dict[str, Any]]) -> float | None:
        spec = rs.get("spec") or {}
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        template_selector = label_selector_from_spec({"matchLabels": template_labels})
        available, wait = available_pods(active, int(spec.get("minReadySeconds") or 0), self.clock)
        status = {
            "replicas": len(active),
            "fullyLabeledReplicas": sum(
                1 for p in active if template_selector.matches(p["metadata"].get("labels"))
            ),
            "readyReplicas": sum(1 for p in active if pod_is_ready(p)),
            "availableReplicas": available,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        # The real controller omits zero counts (omitempty) except replicas.
        status = {k: v for k, v in status.items() if v or k in {"replicas", "observedGeneration"}}

        # Conditions (ReplicaFailure) are not computed here; keep any that were written.
        conditions = (rs.get("status") or {}).get("conditions")
        if conditions:
            status["conditions"] = conditions
        self.replace_status(REPLICASET, key_of(rs), status)
        return wait
