"""CronJob controller: creates Jobs on schedule and reports them.

At each scheduled minute (``spec.schedule``, in ``spec.timeZone`` or UTC) it creates a Job
``<cronjob>-<minutes since epoch>`` from ``spec.jobTemplate`` with the
``batch.kubernetes.io/cronjob-scheduled-timestamp`` annotation and a controller owner
reference. After downtime only the most recent missed time runs, and only within
``startingDeadlineSeconds`` when that is set. ``concurrencyPolicy`` Forbid skips a run
while a Job is active, Replace deletes the active Jobs first. Status carries ``active``
(references to unfinished Jobs), ``lastScheduleTime`` and ``lastSuccessfulTime``; finished
Jobs beyond ``successfulJobsHistoryLimit`` (3) / ``failedJobsHistoryLimit`` (1) are
deleted. A schedule that cannot be parsed is logged once and otherwise ignored.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kubesim.errors import ApiError
from kubesim.sim.clock import Clock
from kubesim.sim.controller import Key, OwnerController
from kubesim.sim.cron import CronError, Schedule, parse_schedule
from kubesim.sim.objects import (
    CRONJOB,
    JOB,
    condition_true,
    get_condition,
    owned_by,
    owner_ref,
)
from kubesim.store import Store
from kubesim.timestamps import parse_time, rfc3339

log = logging.getLogger(__name__)

SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
_MAX_MISSED = 1000


def _finished(job: dict[str, Any]) -> bool:
    return condition_true(job, "Complete") or condition_true(job, "Failed")


def _finish_time(job: dict[str, Any]) -> str:
    status = job.get("status") or {}
    failed = get_condition(job, "Failed") or {}
    return str(status.get("completionTime") or failed.get("lastTransitionTime") or "")


def latest_due(schedule: Schedule, last: datetime, now: datetime) -> datetime | None:
    """The most recent scheduled time in ``(last, now]`` (None if there is none)."""
    due = None
    cursor = last
    for _ in range(_MAX_MISSED):
        nxt = schedule.next_after(cursor)
        if nxt is None or nxt > now:
            break
        due = cursor = nxt
    return due


class CronJobController(OwnerController):
    name = "cronjob-controller"
    owner = CRONJOB
    child = JOB

    def __init__(self, store: Store, clock: Clock) -> None:
        super().__init__(store, clock)
        self._bad_schedules: set[tuple[Key, str]] = set()

    def reconcile(self, key: Key) -> float | None:
        namespace, name = key
        cj = self.store.get(CRONJOB, namespace, name)
        if cj is None or cj["metadata"].get("deletionTimestamp"):
            return None
        spec = cj.get("spec") or {}
        text = str(spec.get("schedule", ""))
        try:
            schedule = parse_schedule(text)
            zone: tzinfo = ZoneInfo(spec["timeZone"]) if spec.get("timeZone") else UTC
        except (CronError, ZoneInfoNotFoundError, ValueError) as exc:
            if (key, text) not in self._bad_schedules:
                self._bad_schedules.add((key, text))
                log.warning("cronjob %s/%s: unusable schedule %r: %s", namespace, name, text, exc)
            return None
        jobs = owned_by(self.store.list(JOB, namespace), cj)
        self._cleanup(spec, jobs)
        jobs = owned_by(self.store.list(JOB, namespace), cj)
        status = dict(cj.get("status") or {})
        now = self.clock.now().astimezone(zone)
        last = parse_time(status.get("lastScheduleTime")) or parse_time(
            cj["metadata"].get("creationTimestamp")
        )
        last = (last or now).astimezone(zone)
        due = latest_due(schedule, last, now)
        if due is not None and not spec.get("suspend"):
            deadline = spec.get("startingDeadlineSeconds")
            too_late = deadline is not None and (now - due).total_seconds() > float(deadline)
            if not too_late and self._start_run(cj, spec, jobs, due):
                status["lastScheduleTime"] = rfc3339(due)
                last = due
            elif too_late:
                last = due
        jobs = owned_by(self.store.list(JOB, namespace), cj)
        active = [j for j in jobs if not _finished(j)]
        if active:
            status["active"] = [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": j["metadata"]["name"],
                    "namespace": namespace,
                    "uid": j["metadata"].get("uid"),
                    "resourceVersion": j["metadata"].get("resourceVersion"),
                }
                for j in sorted(active, key=lambda j: j["metadata"]["name"])
            ]
        else:
            status.pop("active", None)
        succeeded = [
            str((j.get("status") or {}).get("completionTime"))
            for j in jobs
            if condition_true(j, "Complete") and (j.get("status") or {}).get("completionTime")
        ]
        if succeeded:
            status["lastSuccessfulTime"] = max(succeeded)
        self.replace_status(CRONJOB, key, status)
        nxt = schedule.next_after(last)
        if nxt is None:
            return None
        return max((nxt - self.clock.now().astimezone(zone)).total_seconds(), 0.0)

    def _start_run(
        self, cj: dict[str, Any], spec: dict[str, Any], jobs: list[dict[str, Any]], due: datetime
    ) -> bool:
        """Start the run scheduled at ``due``; False when concurrencyPolicy forbids it."""
        namespace = cj["metadata"].get("namespace") or ""
        job_name = f"{cj['metadata']['name']}-{int(due.timestamp() // 60)}"
        if any(j["metadata"]["name"] == job_name for j in jobs):
            return True  # already started (e.g. before a restart of this controller)
        active = [j for j in jobs if not _finished(j)]
        policy = spec.get("concurrencyPolicy", "Allow")
        if active and policy == "Forbid":
            return False
        if active and policy == "Replace":
            for job in active:
                self._delete(job)
        template = spec.get("jobTemplate") or {}
        tmeta = template.get("metadata") or {}
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": job_name,
                "namespace": namespace,
                "labels": dict(tmeta.get("labels") or {}),
                "annotations": {
                    **(tmeta.get("annotations") or {}),
                    SCHEDULED_ANNOTATION: rfc3339(due),
                },
                "ownerReferences": [owner_ref(cj)],
            },
            "spec": dict(template.get("spec") or {}),
        }
        try:
            self.store.create(JOB, job)
        except ApiError as exc:
            log.debug(
                "cronjob %s: job %s not created: %s", cj["metadata"]["name"], job_name, exc.message
            )
            return False
        return True

    def _cleanup(self, spec: dict[str, Any], jobs: list[dict[str, Any]]) -> None:
        limits = (
            ("Complete", int(spec.get("successfulJobsHistoryLimit", 3))),
            ("Failed", int(spec.get("failedJobsHistoryLimit", 1))),
        )
        for ctype, limit in limits:
            done = sorted((j for j in jobs if condition_true(j, ctype)), key=_finish_time)
            for job in done[: max(len(done) - limit, 0)]:
                self._delete(job)

    def _delete(self, job: dict[str, Any]) -> None:
        self.delete_quietly(JOB, job, propagation="Background")
