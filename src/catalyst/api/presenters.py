"""Turning stored environments (and their history) into the API's objects.

Guarantees: field names and formats are exactly the contract's (camelCase, RFC 3339 UTC
timestamps ending in ``Z``, integer ids); ``values`` is always redacted; ``resources`` only
appears when a fresh cluster read produced it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from catalyst.api.schemas import EnvironmentOut, HistoryOut, ResourceOut, StatusChangeOut
from catalyst.domain.model import ResourceStatus
from catalyst.service.history import HistoryPage
from catalyst.service.redaction import redact_secrets


def environment_out(
    record: Any,
    *,
    stale: bool = False,
    observed_at: datetime | None = None,
    resources: Sequence[ResourceOut] | None = None,
) -> dict[str, Any]:
    """The JSON-ready environment object for one stored environment.

    ``stale`` and ``observed_at`` come from the watcher's freshness (the same for every
    environment in one response); without ``observed_at`` the row's own time is shown."""
    out = EnvironmentOut(
        id=record.id,
        name=record.name,
        chartName=record.chart_name,
        status=record.status,
        statusReason=record.status_reason or "",
        statusMessage=record.status_message or "",
        statusObservedAt=observed_at or record.status_observed_at,
        stale=stale,
        failureKind=record.failure_kind,
        expiresAt=record.expires_at,
        createdAt=record.created_at,
        updatedAt=record.updated_at,
        values=redact_secrets(record.values or {}),
        resources=list(resources) if resources is not None else None,
    )
    excluded = {"resources"} if resources is None else set()
    return out.model_dump(mode="json", exclude=excluded)


def resource_out(resource: ResourceStatus) -> ResourceOut:
    """One object's own status (kstatus-like state, CamelCase reason) for ``resources``."""
    return ResourceOut(
        apiVersion=resource.ref.api_version,
        kind=resource.ref.kind,
        name=resource.ref.name,
        status=str(resource.state),
        reason=resource.reason,
        message=resource.message,
    )


def history_out(page: HistoryPage) -> dict[str, Any]:
    """A history page, JSON-ready (``from`` spelled as the API spells it)."""
    out = HistoryOut(
        items=[
            StatusChangeOut.model_validate(
                {
                    "id": change.id,
                    "at": change.occurred_at,
                    "from": change.from_status,
                    "to": change.to_status,
                    "reason": change.reason,
                    "message": change.message,
                    "failureKind": change.failure_kind,
                    "expiresAt": change.expires_at,
                    "source": change.source,
                }
            )
            for change in page.changes
        ],
        next=page.next_after,
    )
    return out.model_dump(mode="json", by_alias=True)
