"""Exceptions the store raises for conditions callers are expected to handle.

Everything else (lost connection, locked SQLite file after the busy timeout, schema
missing) surfaces as SQLAlchemy's own exceptions: those are faults, not outcomes.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of the store's expected failures."""


class NameTaken(StoreError):
    """A live environment already has this name (the API answers 409)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"an environment named {name!r} already exists")
        self.name = name


class EnvironmentRowMissing(StoreError):
    """No environment row has this id (deleted ones still count as existing)."""

    def __init__(self, environment_id: int) -> None:
        super().__init__(f"environment {environment_id} does not exist")
        self.environment_id = environment_id


class StaleRecord(StoreError):
    """The row changed since the caller read it: re-read, re-decide, retry."""

    def __init__(self, environment_id: int, expected_version: int, actual_version: int) -> None:
        super().__init__(
            f"environment {environment_id} is at version {actual_version}, not {expected_version}"
        )
        self.environment_id = environment_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class TokenNameTaken(StoreError):
    """An API token with this name already exists."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a token named {name!r} already exists")
        self.name = name


class UnsupportedJsonValue(StoreError, ValueError):
    """A JSON value the store cannot keep exactly (integers beyond 64 bits, non-string
    keys); the API answers 422."""
