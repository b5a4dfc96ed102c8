"""WebhookDelivery on every database with real receivers (aiohttp on 127.0.0.1): every change
arrives once, in order, signed, after the receiver recovers from failures; a new deliverer
(restart, new leader) resumes without sending a delivered change again; a token's webhook
gets only its environments; a receiver that hangs is cut off by the timeout, and a webhook
that fails long enough is disabled; an address refused at delivery time is not contacted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest

from catalyst.api.presenters import environment_out
from catalyst.service.caller import Caller
from catalyst.service.environment_feed import EnvironmentFeed
from catalyst.service.webhook_delivery import DeliverySettings, WebhookDelivery
from catalyst.service.webhook_messages import RetrySchedule
from catalyst.service.webhook_urls import WebhookUrlPolicy
from catalyst.service.webhooks import CreatedWebhook, WebhookService
from catalyst.store.database import Database
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.records import EnvironmentRecord
from catalyst.store.tokens import TokenRepository
from catalyst.store.webhooks import WebhookRepository
from tests.support.waiting import eventually
from tests.support.webhook_receiver import Received, WebhookReceiver, webhook_receiver

WAIT = 15.0
LOOPBACK = WebhookUrlPolicy.from_setting("127.0.0.0/8")
FAST = DeliverySettings(
    timeout=2.0,
    max_concurrent=4,
    schedule=RetrySchedule(
        first_delay=timedelta(seconds=0.05),
        max_delay=timedelta(seconds=0.2),
        disable_after=timedelta(hours=1),
    ),
    refresh_interval=0.05,
    idle_wait=1.0,
)


class World:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.environments = EnvironmentRepository(database)
        self.webhooks = WebhookRepository(database)
        self.service = WebhookService(webhooks=self.webhooks, policy=LOOPBACK)
        self.feed = EnvironmentFeed(environments=self.environments, poll_interval=0.02)
        self.admin = Caller(0, "admin", True)
        self.alice = Caller(0, "alice", False)

    async def add_callers(self) -> None:
        tokens = TokenRepository(self.database)
        admin = await tokens.create(name="admin", token="admin-t", admin=True)
        alice = await tokens.create(name="alice", token="alice-t")
        self.admin = Caller(admin.id, "admin", True)
        self.alice = Caller(alice.id, "alice", False)

    @asynccontextmanager
    async def delivering(
        self, settings: DeliverySettings = FAST, policy: WebhookUrlPolicy = LOOPBACK
    ) -> AsyncIterator[None]:
        """A deliverer for as long as the block runs (one term of leadership)."""
        delivery = WebhookDelivery(
            webhooks=self.webhooks,
            environments=self.environments,
            feed=self.feed,
            render_environment=environment_out,
            policy=policy,
            settings=settings,
        )
        task = asyncio.create_task(delivery.run())
        try:
            yield
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    async def subscribe(self, caller: Caller, receiver: WebhookReceiver) -> CreatedWebhook:
        created = await self.service.create(
            caller=caller, url=receiver.url, events=["environment.status"]
        )
        receiver.secret = created.secret
        return created

    async def create(self, name: str, owner: Caller) -> EnvironmentRecord:
        return await self.environments.create(
            name=name,
            chart_name="mediawiki",
            values={"mediawikiCore": {"password": "hunter2"}},
            owner_token_id=owner.token_id,
        )

    async def change(self, env_id: int, status: str, reason: str) -> EnvironmentRecord:
        record = await self.environments.get(env_id)
        assert record is not None
        return await self.environments.record_status_change(
            env_id,
            expected_version=record.version,
            source="watcher",
            status=status,
            status_reason=reason,
        )


@pytest.fixture
async def world(database: Database) -> AsyncIterator[World]:
    w = World(database)
    await w.add_callers()
    yield w
    await w.feed.aclose()


async def delivered_count(receiver: WebhookReceiver, count: int) -> list[Received]:
    def enough() -> list[Received] | None:
        delivered = receiver.delivered()
        return delivered if len(delivered) >= count else None

    return await eventually(
        enough,
        f"{count} deliveries",
        within=WAIT,
        last=lambda: [(r.message_id, r.answered) for r in receiver.received],
    )


def summary(received: list[Received]) -> list[tuple[str, str | None, str]]:
    out = []
    for r in received:
        data: dict[str, Any] = r.json()["data"]
        out.append(
            (data["environment"]["name"], data["previousStatus"], data["environment"]["status"])
        )
    return out


async def test_every_change_arrives_in_order_once_after_the_receiver_recovers(
    world: World,
) -> None:
    async with webhook_receiver(status=500) as receiver:
        hook = await world.subscribe(world.admin, receiver)
        async with world.delivering():
            env = await world.create("wiki", world.admin)
            await world.change(env.id, "running", "AllResourcesCurrent")
            await world.change(env.id, "failed", "CrashLoop")
            await eventually(
                lambda: len(receiver.received) >= 3, "three failed attempts", within=WAIT
            )
            failing = await world.webhooks.get(hook.record.id)
            assert failing is not None
            assert failing.attempts >= 1
            assert failing.failing_since is not None
            receiver.status = 200
            delivered = await delivered_count(receiver, 3)

        assert summary(delivered) == [
            ("wiki", None, "starting"),
            ("wiki", "starting", "running"),
            ("wiki", "running", "failed"),
        ]
        ids = [r.message_id for r in delivered]
        assert ids == sorted(set(ids), key=lambda m: int(m.rsplit("_", 1)[1]))
        assert all(r.verified for r in receiver.received), "a signature did not verify"
        # Every failed attempt was a retry of the first change: nothing overtook it.
        first = delivered[0].message_id
        assert {r.message_id for r in receiver.received if r.answered == 500} == {first}
        payload = delivered[1].json()
        assert payload["type"] == "environment.status"
        assert payload["data"]["environment"]["id"] == env.id
        assert payload["data"]["environment"]["values"] == {"mediawikiCore": {"password": "***"}}
        assert payload["data"]["environment"]["statusReason"] == "AllResourcesCurrent"
        assert b"hunter2" not in b"".join(r.body for r in receiver.received)

        healthy = await world.webhooks.get(hook.record.id)
        assert healthy is not None
        assert (healthy.attempts, healthy.failing_since, healthy.next_attempt_at) == (0, None, None)
        deliveries = await world.service.deliveries(hook.record.id, caller=world.admin)
        assert deliveries[0].succeeded
        assert deliveries[-1].status_code == 500
        assert deliveries[-1].error == "HTTP 500"

        # A new term (restart or new leader) resumes after the last delivered change: the
        # next change arrives right after the others, and nothing is sent twice.
        async with world.delivering():
            await world.change(env.id, "running", "Recovered")
            delivered = await delivered_count(receiver, 4)
        ids = [r.message_id for r in delivered]
        assert len(ids) == len(set(ids)) == 4, ids
        assert summary(delivered)[-1] == ("wiki", "failed", "running")


async def test_a_tokens_webhook_gets_only_its_own_environments(world: World) -> None:
    async with webhook_receiver() as for_alice, webhook_receiver() as for_admin:
        await world.subscribe(world.alice, for_alice)
        await world.subscribe(world.admin, for_admin)
        async with world.delivering():
            await world.create("admins", world.admin)
            await world.create("alices", world.alice)
            await world.create("admins-too", world.admin)
            await delivered_count(for_admin, 3)
            await delivered_count(for_alice, 1)
            # A later change of alice's proves nothing else was queued for her before it.
            alices = await world.environments.get_live_by_name("alices")
            assert alices is not None
            await world.change(alices.id, "running", "AllResourcesCurrent")
            await delivered_count(for_alice, 2)
            await delivered_count(for_admin, 4)
        assert [name for name, _, _ in summary(for_alice.delivered())] == ["alices", "alices"]
        assert [name for name, _, _ in summary(for_admin.delivered())] == [
            "admins",
            "alices",
            "admins-too",
            "alices",
        ]


async def test_a_hanging_receiver_is_cut_off_and_a_failing_webhook_disabled(
    world: World,
) -> None:
    settings = DeliverySettings(
        timeout=0.3,
        max_concurrent=4,
        schedule=RetrySchedule(
            first_delay=timedelta(seconds=0.05),
            max_delay=timedelta(seconds=0.1),
            disable_after=timedelta(seconds=1),
        ),
        refresh_interval=0.05,
    )
    async with webhook_receiver() as receiver:
        receiver.hang = True
        hook = await world.subscribe(world.admin, receiver)
        async with world.delivering(settings):
            await world.create("slow", world.admin)

            async def disabled() -> bool:
                current = await world.webhooks.get(hook.record.id)
                return current is not None and current.disabled

            await eventually(disabled, "the webhook to be disabled", within=WAIT)
        deliveries = await world.webhooks.list_deliveries(hook.record.id)
        assert len(deliveries) >= 2
        for attempt in deliveries:
            assert attempt.error == "no answer within 0.3s"
            assert attempt.status_code is None
            assert 250 <= attempt.latency_ms < 2000, attempt
        current = await world.webhooks.get(hook.record.id)
        assert current is not None
        assert current.disabled_reason is not None
        assert "no answer within 0.3s" in current.disabled_reason
        assert current.delivered_position < await world.environments.latest_change_position()
        # Disabled: nothing more is sent to it, in this term or the next. A healthy webhook
        # receiving the later changes shows the deliverer ran meanwhile.
        count = len(receiver.received)
        async with webhook_receiver() as healthy:
            await world.subscribe(world.admin, healthy)
            async with world.delivering(settings):
                await world.create("later", world.admin)
                await world.create("later-still", world.admin)
                await delivered_count(healthy, 2)
        assert len(receiver.received) == count


async def test_an_address_refused_at_delivery_time_is_never_contacted(world: World) -> None:
    # Allowed when it was created, refused by the policy in force when it is delivered (as
    # when a name re-resolves to an internal address): no request reaches the receiver.
    async with webhook_receiver() as receiver:
        hook = await world.subscribe(world.admin, receiver)
        async with world.delivering(policy=WebhookUrlPolicy()):
            await world.create("guarded", world.admin)

            async def attempts() -> list[Any]:
                return await world.webhooks.list_deliveries(hook.record.id)

            recorded = await eventually(attempts, "a refused attempt", within=WAIT)
        assert receiver.received == []
        assert recorded[0].status_code is None
        assert "internal address" in (recorded[0].error or "")


async def test_a_deleted_webhook_gets_nothing_more(world: World) -> None:
    async with webhook_receiver() as receiver:
        hook = await world.subscribe(world.admin, receiver)
        async with world.delivering():
            await world.create("before", world.admin)
            await delivered_count(receiver, 1)
            await world.service.delete(hook.record.id, caller=world.admin)
            # A second webhook on the same receiver proves the deliverer went on working.
            other = await world.subscribe(world.admin, receiver)
            await world.create("after", world.admin)
            await delivered_count(receiver, 2)
        assert [r.message_id.split("_")[1] for r in receiver.delivered()] == [
            str(hook.record.id),
            str(other.record.id),
        ]
