"""StatefulSet controller: ordinal pods ``<sts>-<i>``, their PVCs, rolling updates.

OrderedReady (default) creates pod ``i`` only when pods ``0..i-1`` are Running and Ready
and removes the highest ordinal first, one at a time; Parallel creates and removes all at
once. Each volumeClaimTemplate yields a PVC ``<template>-<sts>-<i>`` (labels from the
template plus the selector's matchLabels), created before its pod and never deleted by
this controller (the default retention policy is Retain). RollingUpdate replaces the
highest-ordinal pod whose ``controller-revision-hash`` differs from updateRevision, one
at a time and only while every pod is Ready, above ``partition``; OnDelete replaces only
pods someone else deleted. A Failed pod is deleted and recreated, as the real controller
does. currentRevision follows updateRevision once every replica is updated.
"""

from __future__ import annotations

import copy
from typing import Any

from kubesim.sim.controller import Key, OwnerController
from kubesim.sim.objects import (
    POD,
    PVC,
    REVISION_LABEL,
    STATEFULSET,
    key_of,
    owned_by,
    pod_from_template,
    pod_is_ready,
    pod_phase,
    revision_of,
    template_hash,
)
from kubesim.sim.replicasets import available_pods


def update_revision(sts: dict[str, Any]) -> str:
    return (
        f"{sts['metadata']['name']}-{template_hash((sts.get('spec') or {}).get('template') or {})}"
    )


def ordinal_of(pod: dict[str, Any], sts_name: str) -> int | None:
    suffix = pod["metadata"]["name"][len(sts_name) + 1 :]
    return int(suffix) if suffix.isdigit() else None


class StatefulSetController(OwnerController):
    name = "statefulset-controller"
    owner = STATEFULSET
    child = POD

    def reconcile(self, key: Key) -> float | None:
        namespace, name = key
        sts = self.store.get(STATEFULSET, namespace, name)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return None
        spec = sts.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        parallel = spec.get("podManagementPolicy") == "Parallel"
        revision = update_revision(sts)
        pods = {
            o: p
            for p in owned_by(self.store.list(POD, namespace), sts)
            if (o := ordinal_of(p, name)) is not None
        }
        # Failed pods are replaced (deleted now, recreated on the next pass).
        for ordinal, pod in list(pods.items()):
            if pod_phase(pod) == "Failed" and not pod["metadata"].get("deletionTimestamp"):
                self.delete_quietly(POD, pod)
                del pods[ordinal]

        # Create missing ordinals.
        for ordinal in range(replicas):
            if ordinal in pods:
                continue
            if not parallel and not all(pod_is_ready(pods[i]) for i in range(ordinal) if i in pods):
                break
            if not parallel and any(i not in pods for i in range(ordinal)):
                break
            created = self._create_pod(sts, ordinal, revision)
            if created is not None:
                pods[ordinal] = created
            if not parallel:
                break

        # Scale down: highest ordinal first.
        extra = sorted((o for o in pods if o >= replicas), reverse=True)
        for ordinal in extra:
            if not parallel and not all(pod_is_ready(p) for o, p in pods.items() if o < replicas):
                break
            self.delete_quietly(POD, pods.pop(ordinal))
            if not parallel:
                break

        # Rolling update.
        strategy = spec.get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") == "RollingUpdate" and not extra:
            partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0))
            all_ready = len(pods) == replicas and all(pod_is_ready(p) for p in pods.values())
            stale = [o for o, p in pods.items() if o >= partition and revision_of(p) != revision]
            if stale and all_ready:
                self.delete_quietly(POD, pods.pop(max(stale)))

        return self._write_status(sts, list(pods.values()), revision)

    def _create_pod(
        self, sts: dict[str, Any], ordinal: int, revision: str
    ) -> dict[str, Any] | None:
        spec = sts.get("spec") or {}
        sts_name = sts["metadata"]["name"]
        pod_name = f"{sts_name}-{ordinal}"
        template = copy.deepcopy(spec.get("template") or {})
        volumes = list((template.get("spec") or {}).get("volumes") or [])
        for claim in spec.get("volumeClaimTemplates") or []:
            tname = (claim.get("metadata") or {}).get("name", "data")
            claim_name = f"{tname}-{sts_name}-{ordinal}"
            self._ensure_pvc(sts, claim, claim_name)
            volumes = [v for v in volumes if v.get("name") != tname]
            volumes.append({"name": tname, "persistentVolumeClaim": {"claimName": claim_name}})
        if volumes:
            template.setdefault("spec", {})["volumes"] = volumes
        pod = pod_from_template(
            template,
            owner=sts,
            name=pod_name,
            extra_labels={
                REVISION_LABEL: revision,
                "statefulset.kubernetes.io/pod-name": pod_name,
                "apps.kubernetes.io/pod-index": str(ordinal),
            },
        )
        pod["spec"].setdefault("hostname", pod_name)
        if spec.get("serviceName"):
            pod["spec"].setdefault("subdomain", spec["serviceName"])
        return self.create_or_none(POD, pod)

    def _ensure_pvc(self, sts: dict[str, Any], claim: dict[str, Any], claim_name: str) -> None:
        namespace = sts["metadata"].get("namespace") or ""
        if self.store.get(PVC, namespace, claim_name) is not None:
            return
        cmeta = claim.get("metadata") or {}
        selector_labels = ((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        meta: dict[str, Any] = {
            "name": claim_name,
            "namespace": namespace,
            "labels": {**(cmeta.get("labels") or {}), **selector_labels},
        }
        if cmeta.get("annotations"):
            meta["annotations"] = dict(cmeta["annotations"])
        claim_spec: dict[str, Any] = copy.deepcopy(claim.get("spec") or {})
        claim_spec.setdefault("volumeMode", "Filesystem")
        pvc = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": meta,
            "spec": claim_spec,
        }
        self.create_or_none(PVC, pvc)

    def _write_status(
        self, sts: dict[str, Any], pods: list[dict[str, Any]], revision: str
    ) -> float | None:
        spec = sts.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        old = sts.get("status") or {}
        current_revision = old.get("currentRevision") or revision
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]

        updated = sum(1 for p in live if revision_of(p) == revision)
        if updated == replicas and len(live) == replicas and all(pod_is_ready(p) for p in live):
            current_revision = revision
        current = sum(1 for p in live if revision_of(p) == current_revision)
        available, wait = available_pods(live, int(spec.get("minReadySeconds") or 0), self.clock)
        status: dict[str, Any] = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(live),
            "readyReplicas": sum(1 for p in live if pod_is_ready(p)),
            "currentReplicas": current,
            "updatedReplicas": updated,
            "availableReplicas": available,
            "currentRevision": current_revision,
            "updateRevision": revision,
            "collisionCount": int(old.get("collisionCount", 0)),
        }
        status = {
            k: v
            for k, v in status.items()
            if v or k in {"replicas", "observedGeneration", "collisionCount", "availableReplicas"}
        }
        self.replace_status(STATEFULSET, key_of(sts), status)
        return wait
