"""WebhookRepository on every database: a new webhook starts after the newest outbox
position; the position moves only through a guarded write (attempt or skip) that fails once
the webhook is gone or moved; attempts are kept newest-first and bounded; deleting a webhook
(or its token) removes its attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from catalyst.store.database import Database
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.tokens import TokenRepository
from catalyst.store.webhooks import TRIM_EVERY, WebhookRecord, WebhookRepository, WebhookState

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


async def token(database: Database, name: str, *, admin: bool = False) -> int:
    record = await TokenRepository(database).create(name=name, token=f"{name}-t", admin=admin)
    return record.id


async def new_webhook(repo: WebhookRepository, owner: int, **extra: Any) -> WebhookRecord:
    return await repo.create(
        url="https://example.org/hook",
        events=["environment.status"],
        secret="whsec_c2VjcmV0",
        owner_token_id=owner,
        admin=extra.get("admin", False),
        now=T0,
    )


def attempt(position: int, *, succeeded: bool, state: WebhookState, **extra: Any) -> dict[str, Any]:
    return {
        "event_position": position,
        "message_id": f"msg_x_{position}",
        "attempted_at": extra.get("at", T0),
        "status_code": 200 if succeeded else 500,
        "latency_ms": 12,
        "error": None if succeeded else "HTTP 500",
        "succeeded": succeeded,
        "state": state,
    }


async def test_a_new_webhook_starts_after_the_newest_change(database: Database) -> None:
    environments = EnvironmentRepository(database)
    repo = WebhookRepository(database)
    alice = await token(database, "alice")
    empty = await new_webhook(repo, alice)
    assert empty.delivered_position == 0
    await environments.create(name="one", chart_name="c", values={})
    await environments.create(name="two", chart_name="c", values={})
    latest = await environments.latest_change_position()
    hook = await new_webhook(repo, alice)
    assert hook.delivered_position == latest > 0
    assert hook.url == "https://example.org/hook"
    assert hook.events == ["environment.status"]
    assert (hook.attempts, hook.failing_since, hook.next_attempt_at) == (0, None, None)
    assert not hook.disabled
    assert hook.created_at == T0
    assert await repo.get_secret(hook.id) == "whsec_c2VjcmV0"
    assert await repo.get(hook.id) == hook


async def test_listing_by_owner_and_activity(database: Database) -> None:
    repo = WebhookRepository(database)
    alice, bob = await token(database, "alice"), await token(database, "bob")
    a1, b1, a2 = (
        await new_webhook(repo, alice),
        await new_webhook(repo, bob),
        await new_webhook(repo, alice),
    )
    assert [h.id for h in await repo.list_webhooks()] == [a1.id, b1.id, a2.id]
    assert [h.id for h in await repo.list_webhooks(owner_token_id=alice)] == [a1.id, a2.id]
    disable = WebhookState(0, 3, T0, None, disabled_at=T0, disabled_reason="failing")
    assert await repo.record_attempt(
        a2.id, expected_position=0, **attempt(1, succeeded=False, state=disable)
    )
    assert [h.id for h in await repo.list_webhooks(active_only=True)] == [a1.id, b1.id]
    disabled = await repo.get(a2.id)
    assert disabled is not None
    assert disabled.disabled
    assert disabled.disabled_reason == "failing"


async def test_the_position_moves_only_from_where_the_deliverer_started(
    database: Database,
) -> None:
    repo = WebhookRepository(database)
    hook = await new_webhook(repo, await token(database, "alice"))
    failing = WebhookState(0, 1, T0, T0 + timedelta(seconds=5))
    assert await repo.record_attempt(
        hook.id, expected_position=0, **attempt(7, succeeded=False, state=failing)
    )
    stored = await repo.get(hook.id)
    assert stored is not None
    assert (stored.delivered_position, stored.attempts) == (0, 1)
    assert (stored.failing_since, stored.next_attempt_at) == (T0, T0 + timedelta(seconds=5))

    done = WebhookState(7, 0, None, None)
    assert await repo.record_attempt(
        hook.id, expected_position=0, **attempt(7, succeeded=True, state=done)
    )
    # Another deliverer (an old leader) that started from 0 records nothing more.
    assert not await repo.record_attempt(
        hook.id, expected_position=0, **attempt(7, succeeded=True, state=done)
    )
    assert not await repo.skip_to(hook.id, expected_position=0, position=9)
    assert await repo.skip_to(hook.id, expected_position=7, position=9)
    stored = await repo.get(hook.id)
    assert stored is not None
    assert (stored.delivered_position, stored.attempts, stored.failing_since) == (9, 0, None)
    deliveries = await repo.list_deliveries(hook.id)
    assert [(d.event_position, d.succeeded, d.status_code) for d in deliveries] == [
        (7, True, 200),
        (7, False, 500),
    ]
    assert deliveries[1].error == "HTTP 500"
    assert deliveries[0].latency_ms == 12
    assert deliveries[0].attempted_at == T0


async def test_only_the_newest_attempts_are_kept(database: Database) -> None:
    repo = WebhookRepository(database, keep_deliveries=3)
    alice = await token(database, "alice")
    hook, other = await new_webhook(repo, alice), await new_webhook(repo, alice)
    failing = WebhookState(0, 1, T0, T0)

    async def record(webhook: WebhookRecord, position: int) -> None:
        assert await repo.record_attempt(
            webhook.id, expected_position=0, **attempt(position, succeeded=False, state=failing)
        )

    for position in range(1, TRIM_EVERY + 2):  # the last one trims
        await record(hook, position)
    await record(other, 1)
    newest = [TRIM_EVERY + 1, TRIM_EVERY, TRIM_EVERY - 1]
    assert [d.event_position for d in await repo.list_deliveries(hook.id)] == newest
    assert [d.event_position for d in await repo.list_deliveries(other.id)] == [1]
    await record(hook, TRIM_EVERY + 2)  # kept until the next trim: bounded, not exact
    assert [d.event_position for d in await repo.list_deliveries(hook.id)] == [
        TRIM_EVERY + 2,
        *newest,
    ]


async def test_deleting_a_webhook_or_its_token_removes_it_and_its_attempts(
    database: Database,
) -> None:
    repo = WebhookRepository(database)
    tokens = TokenRepository(database)
    alice, bob = await token(database, "alice"), await token(database, "bob")
    hook, bobs = await new_webhook(repo, alice), await new_webhook(repo, bob)
    for webhook in (hook, bobs):
        await repo.record_attempt(
            webhook.id,
            expected_position=0,
            **attempt(1, succeeded=False, state=WebhookState(0, 1, T0, T0)),
        )
    assert await repo.delete(hook.id)
    assert not await repo.delete(hook.id)
    assert await repo.get(hook.id) is None
    assert await repo.get_secret(hook.id) is None
    assert await repo.list_deliveries(hook.id) == []
    # An attempt that finishes after the delete records nothing.
    assert not await repo.record_attempt(
        hook.id,
        expected_position=0,
        **attempt(1, succeeded=True, state=WebhookState(1, 0, None, None)),
    )
    assert await tokens.delete("bob")
    assert await repo.get(bobs.id) is None
