"""Time and count thresholds of the status rules (status-spec.md §6.3, decision 5).

`StatusThresholds` is an immutable value built once by the settings and passed to every
pure function that needs a clock rule. Tests construct it with tiny values instead of
sleeping. Every duration is a `timedelta`; `crash_n` is a restart count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class StatusThresholds:
    """The thresholds of §6.3 with the product defaults."""

    unsched: timedelta = timedelta(minutes=5)
    """A pod Pending and Unschedulable for this long is Failed."""
    image: timedelta = timedelta(minutes=5)
    """An image-pull episode (ErrImagePull/ImagePullBackOff) this long is Failed."""
    config: timedelta = timedelta(minutes=2)
    """CreateContainerConfigError and friends for this long is Failed."""
    crash_n: int = 3
    """Restarts since the baseline that make a CrashLoopBackOff Failed."""
    crash_t: timedelta = timedelta(minutes=5)
    """A crash-loop episode this long is Failed whatever the restart count."""
    crash_window: timedelta = timedelta(minutes=10)
    """CRASH_WINDOW: a container Ready this long without a restart starts a new restart count
    (kubelet resets its crash back-off after 10 minutes of running: twice its 5-minute cap)."""
    missing: timedelta = timedelta(minutes=2)
    """Grace for an inventory object that vanished (or is terminating) without a delete."""
    blip: timedelta = timedelta(seconds=60)
    """A running environment stays `running` through non-Current states younger than this."""
    create_timeout: timedelta = timedelta(minutes=30)
    rebuild_timeout: timedelta = timedelta(minutes=30)
    notready_timeout: timedelta = timedelta(minutes=15)
    stale: timedelta = timedelta(minutes=2)
    """Watcher data older than this is stale (used by the watcher, carried here for one home)."""
    expiry: timedelta = timedelta(days=3)
    """A creation failure expires (is reaped) this long after it failed."""

    def __post_init__(self) -> None:
        for name in (
            "unsched",
            "image",
            "config",
            "crash_t",
            "crash_window",
            "missing",
            "blip",
            "create_timeout",
            "rebuild_timeout",
            "notready_timeout",
            "stale",
            "expiry",
        ):
            if getattr(self, name) < timedelta(0):
                raise ValueError(f"threshold {name} must not be negative")
        if self.crash_n < 1:
            raise ValueError("threshold crash_n must be at least 1")
