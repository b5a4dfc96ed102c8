"""Small helpers for reading SQLAlchemy results the same way on every backend."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the row a single-row INSERT just created."""
    key = result.inserted_primary_key
    if key is None:  # only for statements that are not single-row INSERTs
        raise RuntimeError("INSERT returned no primary key")
    return int(key[0])
