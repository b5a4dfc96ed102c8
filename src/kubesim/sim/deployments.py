"""Deployment controller: ReplicaSets per template revision, rollouts, scaling, status.

Each distinct pod template gets a ReplicaSet ``<deploy>-<pod-template-hash>`` with the
``pod-template-hash`` label on its selector and template and the
``deployment.kubernetes.io/revision`` annotation. RollingUpdate honours maxSurge /
maxUnavailable (defaults 25%, surge rounded up, unavailable down); Recreate scales every
old ReplicaSet to zero and waits for their pods to go before scaling the new one up.
A paused Deployment is not rolled out and reports Progressing=Unknown DeploymentPaused.

Status mirrors the real controller: observedGeneration, replicas, updatedReplicas,
readyReplicas, availableReplicas, unavailableReplicas and the Available / Progressing
conditions. Progress is remembered per Deployment in memory; when none is made for
``spec.progressDeadlineSeconds`` (default 600) Progressing turns False with reason
ProgressDeadlineExceeded, and later progress turns it True again. As in the real
controller, a rollout that completed (NewReplicaSetAvailable) does not time out when a
pod is lost afterwards; the next spec change starts a new deadline.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubesim.sim.clock import Clock
from kubesim.sim.controller import Key, OwnerController
from kubesim.sim.objects import (
    DEPLOYMENT,
    REPLICASET,
    get_condition,
    int_or_percent,
    key_of,
    owned_by,
    owner_ref,
    set_condition,
    template_hash,
)
from kubesim.store import Store
from kubesim.timestamps import rfc3339

REVISION = "deployment.kubernetes.io/revision"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
HASH_LABEL = "pod-template-hash"
DEFAULT_PROGRESS_DEADLINE = 600


@dataclass(slots=True)
class Progress:
    uid: str
    generation: int
    counts: tuple[int, int, int, int]
    at: float


def rollout_limits(deploy: dict[str, Any]) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) resolved against spec.replicas."""
    spec = deploy.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0, 0
    rolling = strategy.get("rollingUpdate") or {}
    surge = int_or_percent(rolling.get("maxSurge", "25%"), replicas, round_up=True)
    unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # the API rejects 0/0; behave like the validated minimum
    return surge, unavailable


def _rs_replicas(rs: dict[str, Any]) -> int:
    return int((rs.get("spec") or {}).get("replicas", 0))


def _rs_status(rs: dict[str, Any], field: str) -> int:
    return int((rs.get("status") or {}).get(field, 0))


def _revision(rs: dict[str, Any]) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


class DeploymentController(OwnerController):
    name = "deployment-controller"
    owner = DEPLOYMENT
    child = REPLICASET

    def __init__(self, store: Store, clock: Clock) -> None:
        super().__init__(store, clock)
        self._progress: dict[Key, Progress] = {}

    def forget(self, key: Key) -> None:
        self._progress.pop(key, None)

    # ------------------------------------------------------------------ reconcile

    def reconcile(self, key: Key) -> float | None:
        namespace, name = key
        deploy = self.store.get(DEPLOYMENT, namespace, name)
        if deploy is None or deploy["metadata"].get("deletionTimestamp"):
            self.forget(key)
            return None
        spec = deploy.get("spec") or {}
        paused = bool(spec.get("paused"))
        replicas = int(spec.get("replicas", 1))
        all_rs = owned_by(self.store.list(REPLICASET, namespace), deploy)
        template = spec.get("template") or {}
        thash = template_hash(template)
        new_rs = next(
            (rs for rs in all_rs if (rs["metadata"].get("labels") or {}).get(HASH_LABEL) == thash),
            None,
        )
        old_rs = [rs for rs in all_rs if rs is not new_rs]
        created = False
        if not paused:
            if new_rs is None:
                new_rs = self._create_rs(deploy, thash, old_rs)
                created = new_rs is not None
            else:
                new_rs = self._bump_revision(new_rs, old_rs)
            if new_rs is not None:
                if (spec.get("strategy") or {}).get("type") == "Recreate":
                    self._recreate(deploy, new_rs, old_rs, replicas)
                else:
                    self._rolling(deploy, new_rs, old_rs, replicas)
                self._set_deploy_revision(deploy, new_rs)
            self._cleanup(deploy, old_rs)
        all_rs = owned_by(self.store.list(REPLICASET, namespace), deploy)
        new_rs = next(
            (rs for rs in all_rs if (rs["metadata"].get("labels") or {}).get(HASH_LABEL) == thash),
            None,
        )
        return self._write_status(deploy, new_rs, all_rs, created=created)

    # ------------------------------------------------------------------ replica sets

    def _create_rs(
        self, deploy: dict[str, Any], thash: str, old_rs: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        spec = deploy.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        template = copy.deepcopy(spec.get("template") or {})
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = {**(tmeta.get("labels") or {}), HASH_LABEL: thash}
        selector = copy.deepcopy(spec.get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: thash}
        surge, _ = rollout_limits(deploy)
        if (spec.get("strategy") or {}).get("type") == "Recreate":
            start = (
                0
                if any(_rs_replicas(rs) or _rs_status(rs, "replicas") for rs in old_rs)
                else replicas
            )
        else:
            old_total = sum(_rs_replicas(rs) for rs in old_rs)
            start = max(0, min(replicas, replicas + surge - old_total))
        revision = max([_revision(rs) for rs in old_rs] + [0]) + 1
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{deploy['metadata']['name']}-{thash}",
                "namespace": deploy["metadata"].get("namespace"),
                "labels": dict(tmeta["labels"]),
                "annotations": {
                    DESIRED: str(replicas),
                    MAX_REPLICAS: str(replicas + surge),
                    REVISION: str(revision),
                },
                "ownerReferences": [owner_ref(deploy)],
            },
            "spec": {
                "replicas": start,
                "minReadySeconds": int(spec.get("minReadySeconds") or 0),
                "selector": selector,
                "template": template,
            },
        }
        return self.create_or_none(REPLICASET, rs)

    def _bump_revision(
        self, new_rs: dict[str, Any], old_rs: list[dict[str, Any]]
    ) -> dict[str, Any]:
        # Rolling back to an older template makes its ReplicaSet the newest revision.
        top = max([_revision(rs) for rs in old_rs] + [0])
        if _revision(new_rs) > top:
            return new_rs

        def bump(draft: dict[str, Any]) -> None:
            draft["metadata"].setdefault("annotations", {})[REVISION] = str(top + 1)

        return self.store.mutate(REPLICASET, *key_of(new_rs), bump) or new_rs

    def _scale(self, rs: dict[str, Any], replicas: int, deploy: dict[str, Any]) -> dict[str, Any]:
        surge, _ = rollout_limits(deploy)
        want = int((deploy.get("spec") or {}).get("replicas", 1))

        def scale(draft: dict[str, Any]) -> None:
            draft["spec"]["replicas"] = replicas
            annotations = draft["metadata"].setdefault("annotations", {})
            annotations[DESIRED] = str(want)
            annotations[MAX_REPLICAS] = str(want + surge)

        return self.store.mutate(REPLICASET, *key_of(rs), scale) or rs

    def _rolling(
        self,
        deploy: dict[str, Any],
        new_rs: dict[str, Any],
        old_rs: list[dict[str, Any]],
        replicas: int,
    ) -> None:
        surge, max_unavailable = rollout_limits(deploy)
        total = _rs_replicas(new_rs) + sum(_rs_replicas(rs) for rs in old_rs)
        new_spec = _rs_replicas(new_rs)
        if new_spec < replicas:
            step = min(replicas + surge - total, replicas - new_spec)
            if step > 0:
                new_rs = self._scale(new_rs, new_spec + step, deploy)
        elif new_spec > replicas:
            new_rs = self._scale(new_rs, replicas, deploy)
        live_old = [rs for rs in old_rs if _rs_replicas(rs) > 0]
        if not live_old:
            return
        total = _rs_replicas(new_rs) + sum(_rs_replicas(rs) for rs in live_old)
        min_available = replicas - max_unavailable
        new_unavailable = _rs_replicas(new_rs) - _rs_status(new_rs, "availableReplicas")
        budget = total - min_available - max(new_unavailable, 0)
        if budget <= 0:
            return
        # First drop old replicas that are not available anyway, then healthy ones.
        oldest_first = sorted(live_old, key=_revision)
        targets = {rs["metadata"]["name"]: _rs_replicas(rs) for rs in oldest_first}
        for rs in oldest_first:
            unhealthy = _rs_replicas(rs) - _rs_status(rs, "availableReplicas")
            cut = min(max(unhealthy, 0), budget)
            targets[rs["metadata"]["name"]] -= cut
            budget -= cut
        available = sum(_rs_status(rs, "availableReplicas") for rs in live_old) + _rs_status(
            new_rs, "availableReplicas"
        )
        removable = min(budget, available - min_available)
        for rs in oldest_first:
            if removable <= 0:
                break
            cut = min(targets[rs["metadata"]["name"]], removable)
            targets[rs["metadata"]["name"]] -= cut
            removable -= cut
        for rs in oldest_first:
            target = targets[rs["metadata"]["name"]]
            if target != _rs_replicas(rs):
                self._scale(rs, max(target, 0), deploy)

    def _recreate(
        self,
        deploy: dict[str, Any],
        new_rs: dict[str, Any],
        old_rs: list[dict[str, Any]],
        replicas: int,
    ) -> None:
        for rs in old_rs:
            if _rs_replicas(rs):
                self._scale(rs, 0, deploy)
        if any(_rs_status(rs, "replicas") for rs in old_rs):
            return  # wait until every old pod is gone
        if _rs_replicas(new_rs) != replicas:
            self._scale(new_rs, replicas, deploy)

    def _cleanup(self, deploy: dict[str, Any], old_rs: list[dict[str, Any]]) -> None:
        limit = int((deploy.get("spec") or {}).get("revisionHistoryLimit", 10))
        idle = sorted(
            (rs for rs in old_rs if not _rs_replicas(rs) and not _rs_status(rs, "replicas")),
            key=_revision,
        )
        for rs in idle[: max(len(idle) - limit, 0)]:
            self.delete_quietly(REPLICASET, rs)

    def _set_deploy_revision(self, deploy: dict[str, Any], new_rs: dict[str, Any]) -> None:
        revision = str(_revision(new_rs))

        def annotate(draft: dict[str, Any]) -> None:
            draft["metadata"].setdefault("annotations", {})[REVISION] = revision

        self.store.mutate(DEPLOYMENT, *key_of(deploy), annotate)

    # ------------------------------------------------------------------ status

    def _write_status(
        self,
        deploy: dict[str, Any],
        new_rs: dict[str, Any] | None,
        all_rs: list[dict[str, Any]],
        *,
        created: bool,
    ) -> float | None:
        """Write the Deployment's status from its ReplicaSets; returns the seconds until the
        progress deadline would pass (None: no deadline is running)."""
        key = key_of(deploy)
        live = self.store.get(DEPLOYMENT, *key) or deploy
        spec = live.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        generation = int(live["metadata"].get("generation", 1))
        _, max_unavailable = rollout_limits(live)
        counts = _ReplicaCounts.of(new_rs, all_rs)
        now_mono = self.clock.monotonic()
        now = rfc3339(self.clock.now())
        progressed, progress_at = self._track_progress(
            key, live, generation, counts, created=created, now_mono=now_mono
        )
        deadline = spec.get("progressDeadlineSeconds", DEFAULT_PROGRESS_DEADLINE)
        rollout = _Rollout(
            rs_name=new_rs["metadata"]["name"] if new_rs else "",
            paused=bool(spec.get("paused")),
            complete=(
                new_rs is not None
                and counts.updated == counts.total == counts.available == replicas
                and _rs_replicas(new_rs) == replicas
            ),
            created=created,
            progressed=progressed,
            deadline_left=(
                None if deadline is None else float(deadline) - (now_mono - progress_at)
            ),
        )
        wait: float | None = None

        def write(draft: dict[str, Any]) -> None:
            nonlocal wait
            old = draft.get("status") or {}
            conditions = [dict(c) for c in old.get("conditions") or []]
            set_condition(
                conditions,
                "Available",
                *_available(counts.available, replicas, max_unavailable),
                now,
                update_time=True,
            )
            current = get_condition({"status": {"conditions": conditions}}, "Progressing")
            # A finished rollout never times out: losing a pod later is not "no progress".
            was_complete = current is not None and current.get("reason") == "NewReplicaSetAvailable"
            progressing = rollout.progressing(current, was_complete=was_complete)
            if progressing is not None:
                set_condition(conditions, "Progressing", *progressing, now, update_time=True)
                if progressing[1] == "ReplicaSetUpdated":
                    _touch(conditions, "Progressing", now)  # every progress is an update
            wait = rollout.wait(was_complete=was_complete)
            draft["status"] = _status(old, generation, replicas, counts, conditions)

        self.store.mutate(DEPLOYMENT, *key, write, subresource="status")
        return wait

    def _track_progress(
        self,
        key: Key,
        live: dict[str, Any],
        generation: int,
        counts: _ReplicaCounts,
        *,
        created: bool,
        now_mono: float,
    ) -> tuple[bool, float]:
        """Whether the rollout progressed since the last status write (a new ReplicaSet,
        a new spec, or any count moved forward), and the monotonic time it last did."""
        marks = counts.progress_marks
        uid = str(live["metadata"].get("uid", ""))
        progress = self._progress.get(key)
        progressed = created
        if progress is None or progress.uid != uid or progress.generation != generation:
            progress = Progress(uid, generation, marks, now_mono)
            self._progress[key] = progress
            progressed = True
        elif any(n > o for n, o in zip(marks, progress.counts, strict=True)):
            progressed = True
        if progressed:
            progress.at = now_mono
        progress.counts = marks
        return progressed, progress.at


@dataclass(frozen=True, slots=True)
class _ReplicaCounts:
    """The pods of a Deployment's ReplicaSets, as its status reports them."""

    total: int
    updated: int
    """Pods of the newest ReplicaSet (the current template)."""
    ready: int
    available: int

    @classmethod
    def of(cls, new_rs: dict[str, Any] | None, all_rs: list[dict[str, Any]]) -> _ReplicaCounts:
        return cls(
            total=sum(_rs_status(rs, "replicas") for rs in all_rs),
            updated=_rs_status(new_rs, "replicas") if new_rs else 0,
            ready=sum(_rs_status(rs, "readyReplicas") for rs in all_rs),
            available=sum(_rs_status(rs, "availableReplicas") for rs in all_rs),
        )

    @property
    def progress_marks(self) -> tuple[int, int, int, int]:
        """Counts whose growth is progress: updated, ready, available, and fewer old pods."""
        return (self.updated, self.ready, self.available, -(self.total - self.updated))


@dataclass(frozen=True, slots=True)
class _Rollout:
    """Where one Deployment's rollout stands at one status write."""

    rs_name: str
    paused: bool
    complete: bool
    """Every replica updated and available, and nothing else left."""
    created: bool
    """The newest ReplicaSet was created by this reconcile."""
    progressed: bool
    deadline_left: float | None
    """Seconds until no progress exceeds the deadline (None: no deadline set)."""

    def progressing(
        self, current: Mapping[str, Any] | None, *, was_complete: bool
    ) -> tuple[str, str, str] | None:
        """The Progressing condition (status, reason, message); None leaves it as it is."""
        name = self.rs_name
        if self.paused:
            return "Unknown", "DeploymentPaused", "Deployment is paused"
        if self.complete:
            return (
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{name}" has successfully progressed.',
            )
        if self.created:
            return "True", "NewReplicaSetCreated", f'Created new replica set "{name}"'
        if self.progressed or current is None or current.get("reason") == "DeploymentPaused":
            return "True", "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.'
        if self.deadline_left is not None and not was_complete and self.deadline_left <= 0:
            return (
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{name}" has timed out progressing.',
            )
        return None

    def wait(self, *, was_complete: bool) -> float | None:
        """Seconds until the deadline is to be checked again (None: nothing to check)."""
        if self.complete or was_complete or self.paused or self.deadline_left is None:
            return None
        return self.deadline_left if self.deadline_left > 0 else None


def _available(available: int, replicas: int, max_unavailable: int) -> tuple[str, str, str]:
    """The Available condition (status, reason, message)."""
    if available >= replicas - max_unavailable:
        return "True", "MinimumReplicasAvailable", "Deployment has minimum availability."
    return "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."


def _status(
    old: dict[str, Any],
    generation: int,
    replicas: int,
    counts: _ReplicaCounts,
    conditions: list[dict[str, Any]],
) -> dict[str, Any]:
    """The status object, without zero counts (as the real controller omits them)."""
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "replicas": counts.total,
        "updatedReplicas": counts.updated,
        "readyReplicas": counts.ready,
        "availableReplicas": counts.available,
        "unavailableReplicas": max(replicas - counts.available, 0),
        "conditions": _ordered(conditions),
    }
    status = {
        k: v
        for k, v in status.items()
        if v or k in {"observedGeneration", "replicas", "conditions"}
    }
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    return status


def _touch(conditions: list[dict[str, Any]], ctype: str, now: str) -> None:
    for cond in conditions:
        if cond.get("type") == ctype:
            cond["lastUpdateTime"] = now


def _ordered(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    order = {"Available": 0, "Progressing": 1, "ReplicaFailure": 2}
    return sorted(conditions, key=lambda c: order.get(str(c.get("type")), 3))
