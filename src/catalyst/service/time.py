"""The service's clock and its one timestamp format."""

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
