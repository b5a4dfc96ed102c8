"""Column types that behave the same on SQLite, PostgreSQL and MariaDB.

`UtcDateTime` is the one timestamp type of the schema. Guarantees:

- Values are stored as *naive* UTC (``TIMESTAMP WITHOUT TIME ZONE`` on PostgreSQL,
  ``DATETIME(6)`` on MariaDB, ISO text on SQLite), so no backend ever applies a session
  time zone to them.
- Values read back are always timezone-aware UTC, with microseconds kept on every backend
  (MariaDB's plain ``DATETIME`` would drop them, hence ``fsp=6``).
- Binding a naive datetime raises `ValueError`: a naive value is ambiguous, and guessing
  "it is probably UTC" is how off-by-hours bugs get stored forever. Aware values in any
  zone are converted to UTC first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetime, stored as naive UTC (see the module docstring)."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=False))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: store only timezone-aware values")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # Every backend hands back the naive UTC value we stored.
        return value.replace(tzinfo=UTC)
