"""`WebhookService`: the use cases behind ``/api/webhooks`` (subscribe, list, delete, recent
deliveries).

Guarantees:

- Tenancy is the environments' rule: an admin token sees and deletes every webhook, any
  other token only its own; another token's webhook is `WebhookNotFound`, exactly like an
  unknown id, so ids cannot be probed. A webhook created by a non-admin token is sent the
  changes of that token's environments only; an admin's, every environment's.
- A new webhook's URL passes `WebhookUrlPolicy.check` (form, then every address its host
  resolves to) or `InvalidRequest` (422) names why; its events are a non-empty subset of
  `EVENT_TYPES`.
- The signing secret is generated here and returned once, by `create`; listings never
  carry it.
- A token has at most ``max_per_token`` webhooks (422 beyond): each one costs a delivery
  worker on the leader.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalyst.service.caller import Caller
from catalyst.service.errors import InvalidRequest, WebhookNotFound
from catalyst.service.webhook_messages import EVENT_TYPES, new_secret
from catalyst.service.webhook_urls import WebhookUrlPolicy, WebhookUrlRefused
from catalyst.store.webhooks import DeliveryRecord, WebhookRecord, WebhookRepository

DEFAULT_MAX_PER_TOKEN = 20


@dataclass(frozen=True, slots=True)
class CreatedWebhook:
    record: WebhookRecord
    secret: str
    """``whsec_…``: shown to the client once, in the answer to the create."""


class WebhookService:
    """The webhook use cases (see module docstring)."""

    def __init__(
        self,
        *,
        webhooks: WebhookRepository,
        policy: WebhookUrlPolicy,
        max_per_token: int = DEFAULT_MAX_PER_TOKEN,
    ) -> None:
        self._webhooks = webhooks
        self._policy = policy
        self._max_per_token = max_per_token

    async def create(self, *, caller: Caller, url: str, events: list[str]) -> CreatedWebhook:
        problems = [f"events: unknown event type {e!r}" for e in events if e not in EVENT_TYPES]
        if not events:
            problems.append("events: must name at least one event type")
        try:
            await self._policy.check(url)
        except WebhookUrlRefused as refused:
            problems.insert(0, str(refused))
        if problems:
            raise InvalidRequest(problems[0], details=problems)
        owned = await self._webhooks.list_webhooks(owner_token_id=caller.token_id)
        if len(owned) >= self._max_per_token:
            raise InvalidRequest(
                f"this token already has {self._max_per_token} webhooks; delete one first"
            )
        secret = new_secret()
        record = await self._webhooks.create(
            url=url,
            events=sorted(set(events)),
            secret=secret,
            owner_token_id=caller.token_id,
            admin=caller.admin,
        )
        return CreatedWebhook(record, secret)

    async def list_webhooks(self, *, caller: Caller) -> list[WebhookRecord]:
        owner = None if caller.admin else caller.token_id
        return await self._webhooks.list_webhooks(owner_token_id=owner)

    async def get(self, webhook_id: int, *, caller: Caller) -> WebhookRecord:
        record = await self._webhooks.get(webhook_id)
        if record is None or not caller.may_see(record.owner_token_id):
            raise WebhookNotFound(f"webhook {webhook_id} not found")
        return record

    async def delete(self, webhook_id: int, *, caller: Caller) -> None:
        await self.get(webhook_id, caller=caller)
        if not await self._webhooks.delete(webhook_id):
            raise WebhookNotFound(f"webhook {webhook_id} not found")

    async def deliveries(self, webhook_id: int, *, caller: Caller) -> list[DeliveryRecord]:
        """The webhook's recent attempts, newest first."""
        await self.get(webhook_id, caller=caller)
        return await self._webhooks.list_deliveries(webhook_id)
