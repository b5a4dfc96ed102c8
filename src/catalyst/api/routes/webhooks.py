"""``/api/webhooks``: subscribe to status changes (Standard Webhooks), list, delete, and the
recent delivery attempts of one webhook.

Thin: the rules (URL policy, tenancy, the secret) are `catalyst.service.webhooks`'. Another
token's webhook answers 404 like an unknown id. The signing secret appears only in the
answer to the create. Bodies must be JSON (415 otherwise).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from catalyst.api.auth import CurrentCaller
from catalyst.api.dependencies import ApiServices, Services
from catalyst.api.errors import ApiError
from catalyst.api.json_body import json_body_only
from catalyst.api.openapi import error_responses
from catalyst.api.schemas import Timestamp
from catalyst.service.webhook_messages import EVENT_ENVIRONMENT_STATUS
from catalyst.service.webhooks import WebhookService
from catalyst.store.webhooks import DeliveryRecord, WebhookRecord

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class WebhookCreate(BaseModel):
    """Body of ``POST /api/webhooks``."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {"url": "https://example.org/catalyst-hook", "events": ["environment.status"]}
            ]
        },
    )

    url: str = Field(min_length=1, max_length=2048, description="http(s) URL to POST to.")
    events: list[str] = Field(
        default_factory=lambda: [EVENT_ENVIRONMENT_STATUS],
        max_length=16,
        description='Event types; only `"environment.status"` exists.',
    )


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    createdAt: Timestamp
    disabled: bool
    disabledAt: Timestamp | None
    disabledReason: str | None
    failingSince: Timestamp | None
    nextAttemptAt: Timestamp | None
    failedAttempts: int
    deliveredPosition: int
    """Outbox position (history change id) up to which every change is delivered."""


class WebhookCreated(WebhookOut):
    secret: str
    """``whsec_…``: verify signatures with it. Shown only here."""


class DeliveryOut(BaseModel):
    id: int
    messageId: str
    position: int
    attemptedAt: Timestamp
    statusCode: int | None
    latencyMs: int
    succeeded: bool
    error: str | None


def _webhook_fields(record: WebhookRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "url": record.url,
        "events": record.events,
        "createdAt": record.created_at,
        "disabled": record.disabled,
        "disabledAt": record.disabled_at,
        "disabledReason": record.disabled_reason,
        "failingSince": record.failing_since,
        "nextAttemptAt": record.next_attempt_at,
        "failedAttempts": record.attempts,
        "deliveredPosition": record.delivered_position,
    }


def webhook_out(record: WebhookRecord) -> dict[str, Any]:
    return WebhookOut(**_webhook_fields(record)).model_dump(mode="json")


def delivery_out(record: DeliveryRecord) -> dict[str, Any]:
    attempted_at: datetime = record.attempted_at
    return DeliveryOut(
        id=record.id,
        messageId=record.message_id,
        position=record.event_position,
        attemptedAt=attempted_at,
        statusCode=record.status_code,
        latencyMs=record.latency_ms,
        succeeded=record.succeeded,
        error=record.error,
    ).model_dump(mode="json")


def _webhooks(services: ApiServices) -> WebhookService:
    if services.webhooks is None:
        raise ApiError(404, "webhooks are not available on this server")
    return services.webhooks


@router.post(
    "",
    status_code=201,
    responses={201: {"model": WebhookCreated}, **error_responses(400, 401, 413, 415, 422)},
    dependencies=[Depends(json_body_only)],
    summary="Subscribe a URL to status changes",
)
async def create_webhook(
    body: WebhookCreate, caller: CurrentCaller, services: Services
) -> JSONResponse:
    """Every status change of the caller's environments (an admin's: all) is POSTed to
    ``url``, signed as Standard Webhooks says with the returned ``secret`` (shown once)."""
    created = await _webhooks(services).create(caller=caller, url=body.url, events=body.events)
    out = WebhookCreated(**_webhook_fields(created.record), secret=created.secret)
    return JSONResponse(out.model_dump(mode="json"), status_code=201)


@router.get(
    "",
    responses={200: {"model": list[WebhookOut]}, **error_responses(401)},
    summary="List webhooks",
)
async def list_webhooks(caller: CurrentCaller, services: Services) -> JSONResponse:
    """The caller's webhooks (an admin's: all), with their delivery state."""
    records = await _webhooks(services).list_webhooks(caller=caller)
    return JSONResponse([webhook_out(record) for record in records])


@router.get(
    "/{webhook_id}",
    responses={200: {"model": WebhookOut}, **error_responses(401, 404, 422)},
    summary="Read one webhook",
)
async def get_webhook(webhook_id: int, caller: CurrentCaller, services: Services) -> JSONResponse:
    """One webhook with its delivery state (disabled, failing since, next attempt)."""
    return JSONResponse(webhook_out(await _webhooks(services).get(webhook_id, caller=caller)))


@router.delete(
    "/{webhook_id}",
    status_code=204,
    responses={204: {"description": "Deleted."}, **error_responses(401, 404, 422)},
    summary="Delete a webhook",
)
async def delete_webhook(webhook_id: int, caller: CurrentCaller, services: Services) -> Response:
    """Stop deliveries to the webhook and forget it and its attempts."""
    await _webhooks(services).delete(webhook_id, caller=caller)
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    responses={200: {"model": list[DeliveryOut]}, **error_responses(401, 404, 422)},
    summary="Recent delivery attempts",
)
async def webhook_deliveries(
    webhook_id: int, caller: CurrentCaller, services: Services
) -> JSONResponse:
    """The webhook's recent attempts, newest first: time, HTTP status, latency, error."""
    records = await _webhooks(services).deliveries(webhook_id, caller=caller)
    return JSONResponse([delivery_out(record) for record in records])
