"""Wall-clock helpers shared by the simulator's controllers.

Kubernetes timestamps are RFC3339 with second precision (``metav1.Time``); the log
stream uses RFC3339Nano like the kubelet. Everything here is UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc3339(when: datetime) -> str:
    """``2026-11-25T02:44:00Z`` (seconds precision, as ``metav1.Time`` serialises)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_nano(when: datetime) -> str:
    """``2026-11-25T02:44:00.123456000Z``: the kubelet's log timestamp format."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def at(origin: datetime, offset: float) -> str:
    """The metav1 timestamp ``offset`` seconds after ``origin``."""
    return rfc3339(origin + timedelta(seconds=offset))


def parse_time(text: str | None) -> datetime | None:
    """Parse a metav1 timestamp; ``None`` for missing or malformed values."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
