"""What the status rules remember between evaluations (status-spec §6.2).

Some rules are about duration ("ImagePullBackOff for 5 minutes", "missing for 2 minutes",
"not running for 15 minutes") or about change ("3 restarts since the container was last
Ready"). The Kubernetes objects do not carry that history reliably, so every evaluation takes
the previous memory and returns an updated one. The store keeps it in the JSON column
`environments.status_memory`; `EnvironmentMemory.to_json()` / `from_json()` round-trip it
(datetimes as ISO-8601 strings with offset).

Guarantees and awkward cases:
- The classes are mutable plain dataclasses, but the rule functions never mutate the memory
  they are given: they build and return new instances, so a caller can keep the old one.
- `from_json` accepts `None`/`{}` (a new environment) and ignores unknown keys, so the
  stored shape can grow without a migration. Naive datetimes are read as UTC.
- Pod memory is keyed by pod uid; pods that disappear from the evidence are forgotten on the
  next evaluation (a replacement pod is a new episode).
- `shifted(by)` moves every remembered instant forward. The watcher calls it when stale data
  becomes fresh again, which is how "while stale, every timer is frozen" is implemented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any


def _dt_to_json(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt_from_json(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _shift(value: datetime | None, by: timedelta) -> datetime | None:
    return None if value is None else value + by


@dataclass(slots=True)
class ContainerMemory:
    """One container of one evidence pod (regular or init)."""

    waiting_episode: str | None = None
    """The waiting-reason family being timed: "CrashLoopBackOff", "ImagePull" or "Config"."""
    waiting_since: datetime | None = None
    """First sighting of the current waiting episode (`waiting_reason_since` of the spec)."""
    restart_baseline: int = 0
    """restartCount when the container last completed a CRASH_WINDOW of being Ready (0 if
    never): restarts above it are the current crash-loop window's."""
    crashloop_since: datetime | None = None
    """First CrashLoopBackOff sighting since the container was last Ready."""
    ready_since: datetime | None = None
    """Since when the container has been seen Ready without a restart (None: not Ready)."""
    restarts_seen: int | None = None
    """restartCount at the last evaluation (a restart between two Ready sightings)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "waiting_episode": self.waiting_episode,
            "waiting_since": _dt_to_json(self.waiting_since),
            "restart_baseline": self.restart_baseline,
            "crashloop_since": _dt_to_json(self.crashloop_since),
            "ready_since": _dt_to_json(self.ready_since),
            "restarts_seen": self.restarts_seen,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ContainerMemory:
        data = data or {}
        return cls(
            waiting_episode=data.get("waiting_episode"),
            waiting_since=_dt_from_json(data.get("waiting_since")),
            restart_baseline=int(data.get("restart_baseline") or 0),
            crashloop_since=_dt_from_json(data.get("crashloop_since")),
            ready_since=_dt_from_json(data.get("ready_since")),
            restarts_seen=None if data.get("restarts_seen") is None else int(data["restarts_seen"]),
        )

    def shifted(self, by: timedelta) -> ContainerMemory:
        return replace(
            self,
            waiting_since=_shift(self.waiting_since, by),
            crashloop_since=_shift(self.crashloop_since, by),
            ready_since=_shift(self.ready_since, by),
        )


@dataclass(slots=True)
class PodMemory:
    """One evidence pod: when it was first seen unschedulable, and its containers."""

    unschedulable_since: datetime | None = None
    containers: dict[str, ContainerMemory] = field(default_factory=dict)
    """Keyed by container name; init containers are prefixed with "init:"."""

    def to_json(self) -> dict[str, Any]:
        return {
            "unschedulable_since": _dt_to_json(self.unschedulable_since),
            "containers": {name: c.to_json() for name, c in self.containers.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> PodMemory:
        data = data or {}
        return cls(
            unschedulable_since=_dt_from_json(data.get("unschedulable_since")),
            containers={
                str(name): ContainerMemory.from_json(c)
                for name, c in (data.get("containers") or {}).items()
            },
        )

    def shifted(self, by: timedelta) -> PodMemory:
        return PodMemory(
            unschedulable_since=_shift(self.unschedulable_since, by),
            containers={name: c.shifted(by) for name, c in self.containers.items()},
        )


@dataclass(slots=True)
class ResourceMemory:
    """One inventory object."""

    seen: bool = False
    """The object has been observed present during the current revision."""
    completed: bool = False
    """A Job that was seen complete: its later absence (TTL, hook-succeeded) is success."""
    missing_since: datetime | None = None
    terminating_since: datetime | None = None
    last_state: str | None = None
    pods: dict[str, PodMemory] = field(default_factory=dict)
    """Evidence pods attributed to this object, keyed by pod uid."""

    def to_json(self) -> dict[str, Any]:
        return {
            "seen": self.seen,
            "completed": self.completed,
            "missing_since": _dt_to_json(self.missing_since),
            "terminating_since": _dt_to_json(self.terminating_since),
            "last_state": self.last_state,
            "pods": {uid: p.to_json() for uid, p in self.pods.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ResourceMemory:
        data = data or {}
        return cls(
            seen=bool(data.get("seen", False)),
            completed=bool(data.get("completed", False)),
            missing_since=_dt_from_json(data.get("missing_since")),
            terminating_since=_dt_from_json(data.get("terminating_since")),
            last_state=data.get("last_state"),
            pods={str(uid): PodMemory.from_json(p) for uid, p in (data.get("pods") or {}).items()},
        )

    def shifted(self, by: timedelta) -> ResourceMemory:
        return replace(
            self,
            missing_since=_shift(self.missing_since, by),
            terminating_since=_shift(self.terminating_since, by),
            pods={uid: p.shifted(by) for uid, p in self.pods.items()},
        )


@dataclass(slots=True)
class EnvironmentMemory:
    """Everything one environment's status evaluation carries to the next one."""

    revision: int | None = None
    """The revision the per-resource memory belongs to; a new revision resets `seen`."""
    lifecycle: str | None = None
    lifecycle_since: datetime | None = None
    """When the current lifecycle (or revision) was first evaluated: the context timeouts'
    clock."""
    not_current_since: datetime | None = None
    """Since when not every resource is Current (BLIP hysteresis, NOTREADY_TIMEOUT)."""
    resources: dict[str, ResourceMemory] = field(default_factory=dict)
    """Keyed by `ObjectRef.key`."""

    def to_json(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "lifecycle": self.lifecycle,
            "lifecycle_since": _dt_to_json(self.lifecycle_since),
            "not_current_since": _dt_to_json(self.not_current_since),
            "resources": {key: r.to_json() for key, r in self.resources.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> EnvironmentMemory:
        data = data or {}
        revision = data.get("revision")
        return cls(
            revision=None if revision is None else int(revision),
            lifecycle=data.get("lifecycle"),
            lifecycle_since=_dt_from_json(data.get("lifecycle_since")),
            not_current_since=_dt_from_json(data.get("not_current_since")),
            resources={
                str(key): ResourceMemory.from_json(r)
                for key, r in (data.get("resources") or {}).items()
            },
        )

    def shifted(self, by: timedelta) -> EnvironmentMemory:
        """A copy with every remembered instant moved `by` later (freezes the clocks)."""
        return replace(
            self,
            lifecycle_since=_shift(self.lifecycle_since, by),
            not_current_since=_shift(self.not_current_since, by),
            resources={key: r.shifted(by) for key, r in self.resources.items()},
        )
