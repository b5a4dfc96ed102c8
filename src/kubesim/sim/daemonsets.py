"""DaemonSet controller: one pod per Node, with the standard status counts.

Nodes come from the store; when none exist the simulated cluster has one node,
``kubesim-node``. Pods are bound to their node up front (``spec.nodeName``) and labelled
``controller-revision-hash`` / ``pod-template-generation``. A template change replaces
pods of the old revision one at a time while the others are Ready (RollingUpdate with
maxUnavailable 1); OnDelete leaves them. Failed pods are deleted and recreated.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubesim.sim.controller import Key, OwnerController
from kubesim.sim.objects import (
    DAEMONSET,
    NODE,
    POD,
    REVISION_LABEL,
    key_of,
    owned_by,
    pod_from_template,
    pod_is_ready,
    pod_phase,
    revision_of,
    template_hash,
)
from kubesim.sim.pods import DEFAULT_NODE
from kubesim.sim.replicasets import available_pods
from kubesim.store import Event


class DaemonSetController(OwnerController):
    name = "daemonset-controller"
    owner = DAEMONSET
    child = POD

    def keys_for(self, event: Event) -> Iterable[Key]:
        if event.resource is NODE and event.type != "MODIFIED":
            return [key_of(ds) for ds in self.store.list(DAEMONSET)]
        return super().keys_for(event)

    def _nodes(self) -> list[str]:
        names = [str(n["metadata"]["name"]) for n in self.store.list(NODE)]
        return sorted(names) or [DEFAULT_NODE]

    def reconcile(self, key: Key) -> float | None:
        namespace, name = key
        ds = self.store.get(DAEMONSET, namespace, name)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return None
        spec = ds.get("spec") or {}
        revision = template_hash(spec.get("template") or {})
        nodes = self._nodes()
        pods = [
            p
            for p in owned_by(self.store.list(POD, namespace), ds)
            if not p["metadata"].get("deletionTimestamp")
        ]
        for pod in [p for p in pods if pod_phase(p) == "Failed"]:
            self.delete_quietly(POD, pod)
            pods.remove(pod)
        by_node: dict[str, dict[str, Any]] = {}
        for pod in pods:
            node = (pod.get("spec") or {}).get("nodeName") or DEFAULT_NODE
            if node not in nodes or node in by_node:
                self.delete_quietly(POD, pod)
                continue
            by_node[node] = pod
        for node in nodes:
            if node not in by_node:
                created = self._create_pod(ds, node, revision)
                if created is not None:
                    by_node[node] = created
        strategy = spec.get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            stale = [n for n, p in by_node.items() if revision_of(p) != revision]
            if stale and all(pod_is_ready(p) for p in by_node.values()):
                self.delete_quietly(POD, by_node.pop(stale[0]))
        return self._write_status(ds, list(by_node.values()), revision, len(nodes))

    def _create_pod(self, ds: dict[str, Any], node: str, revision: str) -> dict[str, Any] | None:
        spec = ds.get("spec") or {}
        pod = pod_from_template(
            spec.get("template") or {},
            owner=ds,
            extra_labels={
                REVISION_LABEL: revision,
                "pod-template-generation": str(ds["metadata"].get("generation", 1)),
            },
        )
        pod["spec"]["nodeName"] = node
        return self.create_or_none(POD, pod)

    def _write_status(
        self, ds: dict[str, Any], pods: list[dict[str, Any]], revision: str, desired: int
    ) -> float | None:
        spec = ds.get("spec") or {}
        available, wait = available_pods(pods, int(spec.get("minReadySeconds") or 0), self.clock)
        status = {
            "currentNumberScheduled": len(pods),
            "desiredNumberScheduled": desired,
            "numberMisscheduled": 0,
            "numberReady": sum(1 for p in pods if pod_is_ready(p)),
            "numberAvailable": available,
            "numberUnavailable": max(desired - available, 0),
            "updatedNumberScheduled": sum(1 for p in pods if revision_of(p) == revision),
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        status = {
            k: v
            for k, v in status.items()
            if v or k not in {"numberAvailable", "numberUnavailable", "updatedNumberScheduled"}
        }
        self.replace_status(DAEMONSET, key_of(ds), status)
        return wait
