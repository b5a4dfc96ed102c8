"""EnvironmentFeed on every database: the initial list, then each stored change once, in
order, with that change's status; DELETED for the final deletion; resuming after a position;
EXPIRED for a position that does not exist; a gap in the outbox ids is not skipped while an
earlier commit may still arrive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import insert

from catalyst.service.caller import Caller
from catalyst.service.environment_feed import EnvironmentFeed, FeedEvent, FeedEventType
from catalyst.store.database import Database
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.schema import status_changes
from catalyst.store.tokens import TokenRepository
from catalyst.timestamps import utc_now

WAIT = 10.0


@pytest.fixture
async def feed(database: Database) -> AsyncIterator[EnvironmentFeed]:
    running = EnvironmentFeed(
        environments=EnvironmentRepository(database), poll_interval=0.02, gap_wait=0.5
    )
    yield running
    await running.aclose()


async def callers(database: Database) -> tuple[Caller, Caller]:
    tokens = TokenRepository(database)
    admin = await tokens.create(name="admin", token="admin-token", admin=True)
    alice = await tokens.create(name="alice", token="alice-token")
    return Caller(admin.id, "admin", True), Caller(alice.id, "alice", False)


async def take(events: AsyncIterator[FeedEvent], count: int) -> list[FeedEvent]:
    async with asyncio.timeout(WAIT):
        return [await anext(events) for _ in range(count)]


async def fail(repo: EnvironmentRepository, env_id: int, reason: str) -> None:
    record = await repo.get(env_id)
    assert record is not None
    await repo.record_status_change(
        env_id,
        expected_version=record.version,
        source="watcher",
        status="failed",
        status_reason=reason,
        failure_kind="creation",
        failed_at=utc_now(),
        expires_at=utc_now() + timedelta(days=3),
    )


async def test_the_list_then_every_change_once_in_order(
    database: Database, feed: EnvironmentFeed
) -> None:
    repo = EnvironmentRepository(database)
    admin, alice = await callers(database)
    mine = await repo.create(name="mine", chart_name="c", values={}, owner_token_id=alice.token_id)
    theirs = await repo.create(name="theirs", chart_name="c", values={})

    watched = feed.watch(alice)
    added, synced = await take(watched, 2)
    assert (added.type, added.record and added.record.id) == (FeedEventType.ADDED, mine.id)
    assert synced.type is FeedEventType.SYNCED
    assert synced.position == await repo.latest_change_position()

    await fail(repo, theirs.id, "ImagePullBackOff")  # not alice's: never shown to her
    await fail(repo, mine.id, "ErrImagePull")
    current = await repo.get(mine.id)
    assert current is not None
    await repo.mark_deleted(mine.id, expected_version=current.version)

    modified, deleted = await take(watched, 2)
    assert modified.type is FeedEventType.MODIFIED
    assert modified.record is not None
    assert (modified.record.id, modified.record.status, modified.record.status_reason) == (
        mine.id,
        "failed",
        "ErrImagePull",
    )
    assert deleted.type is FeedEventType.DELETED
    assert deleted.record is not None
    assert deleted.record.id == mine.id
    assert synced.position is not None
    assert modified.position is not None
    assert deleted.position is not None
    assert synced.position < modified.position < deleted.position

    # An admin resuming after the SYNCED position gets every change, in order, no list.
    resumed = feed.watch(admin, since=synced.position)
    changes = await take(resumed, 3)
    assert [(e.type, e.record and e.record.id) for e in changes] == [
        (FeedEventType.MODIFIED, theirs.id),
        (FeedEventType.MODIFIED, mine.id),
        (FeedEventType.DELETED, mine.id),
    ]
    await resumed.aclose()
    await watched.aclose()


async def test_a_position_that_does_not_exist_here_is_expired(
    database: Database, feed: EnvironmentFeed
) -> None:
    admin, _ = await callers(database)
    latest = await EnvironmentRepository(database).latest_change_position()
    events = [event async for event in feed.watch(admin, since=latest + 100)]
    assert [e.type for e in events] == [FeedEventType.EXPIRED]


async def test_a_gap_in_the_ids_waits_for_the_late_commit(
    database: Database, feed: EnvironmentFeed
) -> None:
    repo = EnvironmentRepository(database)
    admin, _ = await callers(database)
    record = await repo.create(name="gap", chart_name="c", values={})
    watched = feed.watch(admin)
    await take(watched, 2)  # ADDED, SYNCED
    latest = await repo.latest_change_position()

    async def row(position: int, reason: str) -> None:
        async with database.write() as conn:
            await conn.execute(
                insert(status_changes).values(
                    id=position,
                    environment_id=record.id,
                    occurred_at=utc_now(),
                    from_status="starting",
                    to_status="starting",
                    reason=reason,
                    message="",
                    source="watcher",
                )
            )

    # The later id commits first; the earlier one arrives within the gap wait.
    await row(latest + 2, "Second")
    waiting = asyncio.ensure_future(take(watched, 2))
    await asyncio.sleep(0.1)  # a few polls see only the later row
    assert not waiting.done(), "delivered past a gap"
    await row(latest + 1, "First")
    first, second = await waiting
    assert [first.position, second.position] == [latest + 1, latest + 2]
    assert [
        first.record and first.record.status_reason,
        second.record and second.record.status_reason,
    ] == ["First", "Second"]

    # A gap that never fills (a rolled-back write) is passed after the wait.
    await row(latest + 4, "Fourth")
    (fourth,) = await take(watched, 1)
    assert fourth.position == latest + 4
    await watched.aclose()


async def test_a_watch_that_falls_far_behind_ends_and_resumes_without_loss(
    database: Database,
) -> None:
    repo = EnvironmentRepository(database)
    admin, _ = await callers(database)
    record = await repo.create(name="slow", chart_name="c", values={})
    feed = EnvironmentFeed(environments=repo, poll_interval=0.02, gap_wait=0.5, max_lag=3)
    try:
        slow = feed.watch(admin)
        await take(slow, 2)  # ADDED, SYNCED: caught up
        await fail(repo, record.id, "First")
        (first,) = await take(slow, 1)  # it keeps up so far
        assert first.position is not None

        for n in range(6):  # more than max_lag changes while its client does not read
            await fail(repo, record.id, f"Burst{n}")
        prompt = feed.watch(admin, since=first.position)
        burst = await take(prompt, 6)  # the feed has them all now
        await prompt.aclose()

        with pytest.raises(StopAsyncIteration):  # 6 behind > 3: ended, nothing yielded
            await take(slow, 1)
        # Resuming after its last position: the backlog, exactly, although it is behind.
        resumed = feed.watch(admin, since=first.position)
        assert [e.position for e in await take(resumed, 6)] == [e.position for e in burst]
        assert [e.record and e.record.status_reason for e in burst] == [
            f"Burst{n}" for n in range(6)
        ]
        await resumed.aclose()
    finally:
        await feed.aclose()
