"""Plain, frozen values the repositories return (never ORM objects).

Records are snapshots of a row at the moment it was read: nothing loads lazily, nothing
is attached to a session, and they can cross task and thread boundaries freely. The JSON
fields (`values`, `status_memory`) are fresh dicts per read; treat them as read-only.

`EnvironmentRecord.version` is the optimistic-locking token: pass it back as
``expected_version`` when writing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from catalyst.domain.model import ObjectRef


@dataclass(frozen=True, slots=True)
class EnvironmentRecord:
    id: int
    name: str
    chart_name: str
    values: dict[str, Any]
    namespace: str
    owner_token_id: int | None
    status: str
    status_reason: str
    status_message: str
    status_since: datetime
    status_observed_at: datetime
    failure_kind: str | None
    failed_at: datetime | None
    expires_at: datetime | None
    ever_running: bool
    lifecycle: str
    revision: int
    applied_revision: int | None
    operation: str | None
    operation_error: str | None
    status_memory: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    version: int

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(frozen=True, slots=True)
class Inventory:
    """The objects last recorded for an environment, and the revision they belong to.

    `revision` is None when no inventory was ever recorded.
    """

    revision: int | None
    objects: tuple[ObjectRef, ...]

    def kinds(self) -> frozenset[tuple[str, str]]:
        """The (apiVersion, kind) pairs of the recorded objects."""
        return frozenset((ref.api_version, ref.kind) for ref in self.objects)


@dataclass(frozen=True, slots=True)
class StatusChangeRecord:
    id: int
    environment_id: int
    occurred_at: datetime
    from_status: str | None
    to_status: str
    reason: str
    message: str
    failure_kind: str | None
    expires_at: datetime | None
    source: str


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token's identity. The token itself is never stored, only its hash."""

    id: int
    name: str
    admin: bool
    created_at: datetime
