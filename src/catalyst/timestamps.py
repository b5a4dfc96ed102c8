"""Catalyst's clock and its one timestamp format (a leaf: imports only the standard library).

Every layer that needs "now" (the store's default write time, the use cases' clocks, the
leader's reaper and heartbeat) takes it from `utc_now`, so all of them agree on aware UTC;
every timestamp served on the wire is written by `rfc3339`.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def rfc3339(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix; whole seconds drop the fraction.

    ``2026-11-25T10:00:03Z`` or ``2026-11-25T10:00:03.250000Z``.
    """
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
