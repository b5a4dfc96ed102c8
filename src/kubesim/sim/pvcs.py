"""PersistentVolumeClaim binder: Pending → Bound after ``timings.bindAfter``.

A new claim first reports ``phase: Pending``; once ``bindAfter`` has passed since the
binder first saw it, it gets ``spec.volumeName: pvc-<uid>``, the bind annotations and the
``kubernetes.io/pvc-protection`` finalizer, and its status becomes Bound with the spec's
accessModes and the requested storage as capacity. When kubesim serves PersistentVolumes a
matching volume is created too. Protection: a claim being deleted keeps its finalizer until
no non-terminated pod mounts it, then the finalizer is removed and the claim goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubesim.errors import ApiError
from kubesim.sim.clock import Clock
from kubesim.sim.controller import Controller, Key
from kubesim.sim.objects import PERSISTENT_VOLUME, POD, PVC, claim_names, key_of, pod_is_active
from kubesim.sim.rules import Rules
from kubesim.store import Event, Store

PROTECTION = "kubernetes.io/pvc-protection"


class PersistentVolumeClaimBinder(Controller):
    name = "persistentvolume-binder"

    def __init__(self, store: Store, rules: Rules, clock: Clock) -> None:
        super().__init__(store, clock)
        self.rules = rules
        self._seen: dict[Key, tuple[str, float]] = {}

    def keys_for(self, event: Event) -> Iterable[Key]:
        if event.resource is PVC:
            return (key_of(event.obj),)
        if event.resource is POD and event.type == "DELETED":
            ns = event.obj["metadata"].get("namespace") or ""
            return [(ns, name) for name in claim_names(event.obj)]
        return ()

    def initial_keys(self) -> Iterable[Key]:
        return [key_of(o) for o in self.store.list(PVC)]

    def forget(self, key: Key) -> None:
        self._seen.pop(key, None)

    def reconcile(self, key: Key) -> float | None:
        namespace, name = key
        pvc = self.store.get(PVC, namespace, name)
        if pvc is None:
            self.forget(key)
            return None
        if pvc["metadata"].get("deletionTimestamp"):
            self._release(pvc)
            return None
        if (pvc.get("status") or {}).get("phase") == "Bound":
            return None
        uid = str(pvc["metadata"].get("uid", ""))
        seen = self._seen.get(key)
        if seen is None or seen[0] != uid:
            seen = (uid, self.clock.monotonic())
            self._seen[key] = seen
        left = self.rules.timings.bind_after - (self.clock.monotonic() - seen[1])
        if left > 0:
            self.store.mutate(PVC, namespace, name, _pending, subresource="status")
            return left
        self._bind(pvc)
        return None

    def _bind(self, pvc: dict[str, Any]) -> None:
        namespace, name = key_of(pvc)
        volume = f"pvc-{pvc['metadata'].get('uid', '')}"
        spec = pvc.get("spec") or {}
        storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        modes = list(spec.get("accessModes") or ["ReadWriteOnce"])
        if (
            PERSISTENT_VOLUME is not None
            and self.store.get(PERSISTENT_VOLUME, None, volume) is None
        ):
            self._create_volume(pvc, volume, storage, modes)

        def claim(draft: dict[str, Any]) -> None:
            draft.setdefault("spec", {})["volumeName"] = volume
            meta = draft["metadata"]
            annotations = meta.setdefault("annotations", {})
            annotations["pv.kubernetes.io/bind-completed"] = "yes"
            annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
            finalizers = meta.setdefault("finalizers", [])
            if PROTECTION not in finalizers:
                finalizers.append(PROTECTION)

        def bound(draft: dict[str, Any]) -> None:
            draft["status"] = {
                "phase": "Bound",
                "accessModes": modes,
                "capacity": {"storage": storage},
            }

        self.store.mutate(PVC, namespace, name, claim)
        self.store.mutate(PVC, namespace, name, bound, subresource="status")

    def _create_volume(
        self, pvc: dict[str, Any], volume: str, storage: str, modes: list[str]
    ) -> None:
        assert PERSISTENT_VOLUME is not None
        spec = pvc.get("spec") or {}
        pv = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": volume},
            "spec": {
                "capacity": {"storage": storage},
                "accessModes": modes,
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": spec.get("storageClassName", "standard"),
                "volumeMode": spec.get("volumeMode", "Filesystem"),
                "hostPath": {"path": f"/var/lib/kubesim/{volume}"},
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "namespace": pvc["metadata"].get("namespace"),
                    "name": pvc["metadata"]["name"],
                    "uid": pvc["metadata"].get("uid"),
                },
            },
        }
        try:
            created = self.store.create(PERSISTENT_VOLUME, pv)
            self.store.mutate(
                PERSISTENT_VOLUME,
                None,
                created["metadata"]["name"],
                lambda d: d.__setitem__("status", {"phase": "Bound"}),
                subresource="status",
            )
        except ApiError:
            pass

    def _release(self, pvc: dict[str, Any]) -> None:
        namespace, name = key_of(pvc)
        in_use = any(
            name in claim_names(p) and pod_is_active(p) for p in self.store.list(POD, namespace)
        )
        if in_use or PROTECTION not in (pvc["metadata"].get("finalizers") or []):
            return

        def unprotect(draft: dict[str, Any]) -> None:
            draft["metadata"]["finalizers"] = [
                f for f in draft["metadata"].get("finalizers") or [] if f != PROTECTION
            ]

        self.store.mutate(PVC, namespace, name, unprotect)
        volume = (pvc.get("spec") or {}).get("volumeName")
        if PERSISTENT_VOLUME is not None and volume:
            try:
                self.store.delete(PERSISTENT_VOLUME, None, volume)
            except ApiError:
                pass


def _pending(draft: dict[str, Any]) -> None:
    draft["status"] = {"phase": "Pending"}
