"""kubesim's one wall clock and its Kubernetes timestamp formats, shared by the store, the
API handlers, the table printer and the simulator.

Kubernetes timestamps are RFC 3339 with second precision (``metav1.Time``); the log stream
uses RFC3339Nano like the kubelet. Everything here is UTC: formatting converts to it, and
parsing returns aware UTC datetimes (a value without an offset is read as UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc_now() -> datetime:
    """The current wall-clock time, timezone-aware UTC."""
    return datetime.now(UTC)


def rfc3339(when: datetime) -> str:
    """``2026-11-25T02:44:00Z`` (seconds precision, as ``metav1.Time`` serialises)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_rfc3339() -> str:
    """The current time as Kubernetes writes it (`rfc3339` of `utc_now`)."""
    return rfc3339(utc_now())


def rfc3339_nano(when: datetime) -> str:
    """``2026-11-25T02:44:00.123456000Z``: the kubelet's log timestamp format."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def at(origin: datetime, offset: float) -> str:
    """The metav1 timestamp ``offset`` seconds after ``origin``."""
    return rfc3339(origin + timedelta(seconds=offset))


def parse_time(value: object) -> datetime | None:
    """A timestamp (RFC 3339, any precision or offset) as an aware UTC datetime; ``None``
    for a missing, empty, non-string or malformed value."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
