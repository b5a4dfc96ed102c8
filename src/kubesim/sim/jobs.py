"""Job controller: pods until ``completions`` succeed, failure policy, modern conditions.

Pods are ``<job>-<5 chars>`` labelled ``batch.kubernetes.io/job-name``, ``job-name``,
``batch.kubernetes.io/controller-uid`` and ``controller-uid``. At most ``parallelism`` run
at once. Finished pods are counted once per pod uid (kept in memory, so deleting a
finished pod does not lower the counts); ``uncountedTerminatedPods`` is therefore always
empty.

Failure: restartPolicy Never creates a new pod per failure, after a backoff that doubles
from ``timings.restartBackoff``; ``failed > backoffLimit`` (default 6) fails the Job.
OnFailure restarts containers in place and fails the Job once the pods' restarts reach
``backoffLimit``. ``activeDeadlineSeconds`` fails it with DeadlineExceeded. As the
1.31+ controller does, the Job first gets ``FailureTarget`` (or ``SuccessCriteriaMet``),
its active pods are deleted, and only then ``Failed`` (or ``Complete`` with
``completionTime``). ``spec.suspend`` deletes active pods and sets Suspended=True;
resuming resets ``startTime``. ``ttlSecondsAfterFinished`` deletes the finished Job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubesim.sim.clock import Clock
from kubesim.sim.controller import Key, OwnerController
from kubesim.sim.objects import (
    JOB,
    POD,
    condition_true,
    owned_by,
    pod_from_template,
    pod_is_active,
    pod_is_ready,
    pod_phase,
    set_condition,
)
from kubesim.sim.rules import Rules
from kubesim.store import Store
from kubesim.timestamps import parse_time, rfc3339

DEFAULT_BACKOFF_LIMIT = 6
MAX_POD_BACKOFF = 360.0


@dataclass(slots=True)
class JobMemory:
    uid: str
    succeeded: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    last_failure: float | None = None


def restarts_of(pod: dict[str, Any]) -> int:
    status = pod.get("status") or {}
    return sum(
        int(c.get("restartCount", 0))
        for c in (status.get("containerStatuses") or [])
        + (status.get("initContainerStatuses") or [])
    )


def _condition(ctype: str, reason: str, message: str, now: str) -> dict[str, Any]:
    return {
        "type": ctype,
        "status": "True",
        "lastProbeTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


class JobController(OwnerController):
    name = "job-controller"
    owner = JOB
    child = POD

    def __init__(self, store: Store, rules: Rules, clock: Clock) -> None:
        super().__init__(store, clock)
        self.rules = rules
        self._memory: dict[Key, JobMemory] = {}

    def forget(self, key: Key) -> None:
        self._memory.pop(key, None)

    def reconcile(self, key: Key) -> float | None:
        namespace, name = key
        job = self.store.get(JOB, namespace, name)
        if job is None:
            self.forget(key)
            return None
        if job["metadata"].get("deletionTimestamp"):
            return None
        uid = str(job["metadata"].get("uid", ""))
        memory = self._memory.get(key)
        if memory is None or memory.uid != uid:
            memory = JobMemory(uid)
            self._memory[key] = memory
        spec = job.get("spec") or {}
        status = dict(job.get("status") or {})
        conditions: list[dict[str, Any]] = [dict(c) for c in status.get("conditions") or []]
        now_dt = self.clock.now()
        now = rfc3339(now_dt)
        pods = owned_by(self.store.list(POD, namespace), job)
        for pod in pods:
            pod_uid = str(pod["metadata"].get("uid", ""))
            phase = pod_phase(pod)
            if phase == "Succeeded":
                memory.succeeded.add(pod_uid)
            elif phase == "Failed" and pod_uid not in memory.failed:
                memory.failed.add(pod_uid)
                memory.last_failure = self.clock.monotonic()
        active = [p for p in pods if pod_is_active(p)]
        wait: float | None = None
        finished = condition_true(job, "Complete") or condition_true(job, "Failed")
        job_for_cond = {"status": {"conditions": conditions}}

        if finished:
            wait = self._ttl_left(job)
            if wait is not None and wait <= 0:
                self._delete_job(job)
                return None
        elif condition_true(job_for_cond, "FailureTarget") or condition_true(
            job_for_cond, "SuccessCriteriaMet"
        ):
            self._delete_pods(active)
            active = []
            if condition_true(job_for_cond, "FailureTarget"):
                target = next(c for c in conditions if c["type"] == "FailureTarget")
                conditions.append(_condition("Failed", target["reason"], target["message"], now))
            else:
                conditions.append(
                    _condition(
                        "Complete",
                        "CompletionsReached",
                        "Reached expected number of succeeded pods",
                        now,
                    )
                )
                status["completionTime"] = now
            wait = self._ttl_left(
                {"spec": spec, "status": {"completionTime": now, "conditions": conditions}}
            )
        elif spec.get("suspend"):
            self._delete_pods(active)
            active = []
            set_condition(conditions, "Suspended", "True", "JobSuspended", "Job suspended", now)
            _probe(conditions, "Suspended", now)
        else:
            if condition_true(job_for_cond, "Suspended"):
                set_condition(conditions, "Suspended", "False", "JobResumed", "Job resumed", now)
                _probe(conditions, "Suspended", now)
                status["startTime"] = now
            status.setdefault("startTime", now)
            wait = self._advance(job, spec, status, conditions, memory, active, now)
            active = [p for p in owned_by(self.store.list(POD, namespace), job) if pod_is_active(p)]

        status["conditions"] = conditions
        status["active"] = len(active)
        status["succeeded"] = len(memory.succeeded)
        status["failed"] = len(memory.failed)
        status["ready"] = sum(1 for p in active if pod_is_ready(p))
        status["terminating"] = 0
        status["uncountedTerminatedPods"] = {}
        for count in ("active", "succeeded", "failed"):
            if not status[count]:
                del status[count]
        if not status["conditions"]:
            del status["conditions"]
        self.replace_status(JOB, key, status)
        return wait

    def _advance(
        self,
        job: dict[str, Any],
        spec: dict[str, Any],
        status: dict[str, Any],
        conditions: list[dict[str, Any]],
        memory: JobMemory,
        active: list[dict[str, Any]],
        now: str,
    ) -> float | None:
        """Decide success/failure or create pods; returns the next timed check."""
        restart_policy = ((spec.get("template") or {}).get("spec") or {}).get(
            "restartPolicy", "Never"
        )
        backoff_limit = int(spec.get("backoffLimit", DEFAULT_BACKOFF_LIMIT))
        completions = spec.get("completions")
        parallelism = int(spec.get("parallelism", 1))
        succeeded = len(memory.succeeded)
        failed = len(memory.failed)
        deadline = spec.get("activeDeadlineSeconds")
        started = parse_time(status.get("startTime"))
        if deadline is not None and started is not None:
            left = float(deadline) - (self.clock.now() - started).total_seconds()
            if left <= 0:
                conditions.append(
                    _condition(
                        "FailureTarget",
                        "DeadlineExceeded",
                        "Job was active longer than specified deadline",
                        now,
                    )
                )
                return None
        else:
            left = None
        restarts = sum(restarts_of(p) for p in active) if restart_policy == "OnFailure" else 0
        # OnFailure: container restarts count; with backoffLimit 0 the first restart fails.
        restarts_exceeded = restart_policy == "OnFailure" and (
            restarts > 0 if backoff_limit == 0 else restarts >= backoff_limit
        )
        if failed > backoff_limit or restarts_exceeded:
            conditions.append(
                _condition(
                    "FailureTarget",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    now,
                )
            )
            return None
        done = (
            (succeeded >= int(completions))
            if completions is not None
            else (succeeded > 0 and not active)
        )
        if done:
            conditions.append(
                _condition(
                    "SuccessCriteriaMet",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    now,
                )
            )
            return None
        if completions is not None:
            want = min(parallelism, int(completions) - succeeded)
        else:
            want = parallelism if succeeded == 0 else 0
        missing = want - len(active)
        if missing > 0 and failed and memory.last_failure is not None:
            delay = min(self.rules.timings.restart_backoff * 2 ** (failed - 1), MAX_POD_BACKOFF)
            remaining = delay - (self.clock.monotonic() - memory.last_failure)
            if remaining > 0:
                return remaining if left is None else min(remaining, left)
        for _ in range(max(missing, 0)):
            self._create_pod(job)
        return left

    def _create_pod(self, job: dict[str, Any]) -> None:
        meta = job["metadata"]
        labels = {
            "batch.kubernetes.io/controller-uid": meta.get("uid", ""),
            "batch.kubernetes.io/job-name": meta["name"],
            "controller-uid": meta.get("uid", ""),
            "job-name": meta["name"],
        }
        template = dict((job.get("spec") or {}).get("template") or {})
        # The API rejects Job templates without Never/OnFailure; kubesim does not validate
        # that, so default to Never rather than create pods that never finish.
        template["spec"] = {"restartPolicy": "Never", **(template.get("spec") or {})}
        pod = pod_from_template(template, owner=job, extra_labels=labels)
        self.create_or_none(POD, pod)

    def _delete_pods(self, pods: list[dict[str, Any]]) -> None:
        for pod in pods:
            self.delete_quietly(POD, pod)

    def _ttl_left(self, job: dict[str, Any]) -> float | None:
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None:
            return None
        status = job.get("status") or {}
        finished = parse_time(status.get("completionTime"))
        if finished is None:
            for cond in status.get("conditions") or []:
                if cond.get("type") == "Failed":
                    finished = parse_time(cond.get("lastTransitionTime"))
        if finished is None:
            return None
        return float(ttl) - (self.clock.now() - finished).total_seconds()

    def _delete_job(self, job: dict[str, Any]) -> None:
        self.delete_quietly(JOB, job, propagation="Background")


def _probe(conditions: list[dict[str, Any]], ctype: str, now: str) -> None:
    for cond in conditions:
        if cond.get("type") == ctype:
            cond["lastProbeTime"] = now
