"""Attribution of evidence pods to the inventory objects that own them (status-spec §6.2).

Pods and ReplicaSets are evidence, not inventory: they say *why* a controller is not ready.
`EvidenceIndex` is built once per evaluation from the environment's pods and ReplicaSets and
answers "which pods count for this object":

- Deployment → its ReplicaSets (ownerReferences uid) → only the newest one, whose
  `deployment.kubernetes.io/revision` annotation equals the Deployment's (if the Deployment
  has no revision annotation yet, the ReplicaSet with the highest revision) → its pods.
- StatefulSet, DaemonSet, ReplicaSet, Job → pods whose ownerReferences name its uid.

Always skipped: pods with a deletionTimestamp (on their way out). For controller pods (not
Job pods) phase Failed/Succeeded are skipped too: the controller replaces them (Evicted).
Malformed evidence objects are
ignored. For Job pods only active pods count (not Failed/Succeeded): crashes are the Job's
backoffLimit business. Jobs made by CronJobs are not in the inventory, so their pods are
never attributed to anything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from catalyst.domain.model import ObjectRef
from catalyst.domain.object_fields import (
    Obj,
    annotation,
    is_terminating,
    owner_uids,
    status,
    uid,
)

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
_FINISHED_PHASES = frozenset({"Failed", "Succeeded"})


def _revision(obj: Obj) -> int:
    try:
        return int(annotation(obj, REVISION_ANNOTATION) or 0)
    except ValueError:
        return 0


def _owners(obj: Obj, *, skip_terminating: bool) -> list[str]:
    """Owner uids of an evidence object; a malformed one is no evidence rather than an error."""
    try:
        if skip_terminating and is_terminating(obj):
            return []
        return owner_uids(obj)
    except (TypeError, AttributeError):
        return []


class EvidenceIndex:
    """Pods and ReplicaSets of one environment, indexed by owner uid."""

    def __init__(self, pods: Iterable[Obj] = (), replicasets: Iterable[Obj] = ()) -> None:
        self._pods_by_owner: dict[str, list[Obj]] = defaultdict(list)
        self._replicasets_by_owner: dict[str, list[Obj]] = defaultdict(list)
        for pod in pods:
            for owner in _owners(pod, skip_terminating=True):
                self._pods_by_owner[owner].append(pod)
        for replicaset in replicasets:
            for owner in _owners(replicaset, skip_terminating=False):
                self._replicasets_by_owner[owner].append(replicaset)

    def newest_replicaset(self, deployment: Obj) -> Obj | None:
        """The ReplicaSet of the Deployment's current revision, or None if not created yet."""
        owned = self._replicasets_by_owner.get(uid(deployment), [])
        if not owned:
            return None
        wanted = annotation(deployment, REVISION_ANNOTATION)
        if wanted is None:
            return max(owned, key=_revision)
        for replicaset in owned:
            if annotation(replicaset, REVISION_ANNOTATION) == wanted:
                return replicaset
        return None

    def _live_pods_of(self, owner_uid: str) -> list[Obj]:
        pods = self._pods_by_owner.get(owner_uid, []) if owner_uid else []
        return [p for p in pods if status(p).get("phase") not in _FINISHED_PHASES]

    def pods_for(self, ref: ObjectRef, obj: Obj) -> list[Obj]:
        """The evidence pods that count for the inventory object `obj` (see module doc)."""
        if ref.kind == "Deployment":
            replicaset = self.newest_replicaset(obj)
            return [] if replicaset is None else self._live_pods_of(uid(replicaset))
        if ref.kind in ("StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
            return self._live_pods_of(uid(obj))
        return []
