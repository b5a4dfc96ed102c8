"""How current the watcher's statuses are: `Freshness`, and the policy that reads it from
the leader's heartbeat row.

Any replica can answer it without talking to the leader: the leader writes the heartbeat
every few seconds (whether its informers are synced, and the last moment its data was known
fresh), and this policy reads that row.

Guarantees:

- Fresh (a heartbeat not older than ``stale_after_seconds``, synced): ``stale: false`` and
  the heartbeat's ``fresh_at`` as everyone's ``statusObservedAt``.
- Stale, or no heartbeat yet: ``stale: true`` and no shared time (each environment shows
  its own stored ``status_observed_at``).
- The row is read at most once per ``reread_after_seconds``, so busy API replicas do not
  query it per request; a failed read raises to the caller and is tried again next time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from catalyst.store.heartbeat import Heartbeat
from catalyst.timestamps import utc_now


@dataclass(frozen=True, slots=True)
class Freshness:
    """How current the watcher's data is, applied to every item of one response."""

    stale: bool
    observed_at: datetime | None = None
    """When set, every item's ``statusObservedAt``; None: each row's own stored time."""


UNWATCHED: Final = Freshness(stale=False)
"""No freshness source: not stale, each row's own ``status_observed_at``."""

FreshnessSource = Callable[[], Awaitable[Freshness]]


class HeartbeatReader(Protocol):
    """Where the leader's heartbeat is read (`HeartbeatRepository` provides it)."""

    async def get(self) -> Heartbeat | None: ...


def heartbeat_freshness(
    heartbeats: HeartbeatReader,
    *,
    stale_after_seconds: float,
    clock: Callable[[], datetime] = utc_now,
    reread_after_seconds: float = 1.0,
) -> FreshnessSource:
    """Freshness from the watcher heartbeat row: fresh → its ``fresh_at`` for everyone;
    stale, or no heartbeat yet → ``stale: true`` with each row's own time.

    The row is read at most once per ``reread_after_seconds`` (the leader writes it every
    few seconds and STALE is minutes), so busy API replicas do not query it per request."""
    heartbeat: Heartbeat | None = None
    read_at: datetime | None = None

    async def current() -> Freshness:
        nonlocal heartbeat, read_at
        now = clock()
        if read_at is None or (now - read_at).total_seconds() >= reread_after_seconds:
            heartbeat, read_at = await heartbeats.get(), now
        if heartbeat is None or heartbeat.is_stale(now, stale_after_seconds):
            return Freshness(stale=True)
        return Freshness(stale=False, observed_at=heartbeat.fresh_at)

    return current
