"""EnvironmentRepository on all three backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select

from catalyst.store import (
    Database,
    EnvironmentRepository,
    EnvironmentRowMissing,
    NameTaken,
    StaleRecord,
    TokenRepository,
    UnsupportedJsonValue,
)
from catalyst.store.schema import environments, status_changes

T0 = datetime(2026, 11, 25, 9, 58, 41, 123456, tzinfo=UTC)


@pytest.fixture
def repo(database: Database) -> EnvironmentRepository:
    return EnvironmentRepository(database)


async def test_create_stores_a_starting_environment_with_its_first_history_row(
    repo: EnvironmentRepository,
) -> None:
    created = await repo.create(name="wiki-1", chart_name="mediawiki", values={"a": 1}, now=T0)
    assert created.id >= 1
    assert created.namespace == f"env-{created.id}"
    assert (created.status, created.lifecycle, created.operation) == (
        "starting",
        "creating",
        "create",
    )
    assert (created.revision, created.applied_revision, created.version) == (1, None, 1)
    assert created.values == {"a": 1}
    assert created.status_memory == {}
    assert created.ever_running is False
    assert created.created_at == created.updated_at == created.status_since == T0
    assert created.deleted_at is None
    assert await repo.get(created.id) == created

    [change] = await repo.list_status_changes(created.id)
    assert (change.from_status, change.to_status, change.source) == (None, "starting", "api")
    assert change.occurred_at == T0


async def test_ids_are_never_reused(repo: EnvironmentRepository, database: Database) -> None:
    first = await repo.create(name="a", chart_name="c", values={})
    second = await repo.create(name="b", chart_name="c", values={})
    assert second.id > first.id
    await repo.mark_deleted(second.id, expected_version=second.version)
    # Even a hard delete of the newest row must not free its id (SQLite needs AUTOINCREMENT).
    async with database.write() as connection:
        await connection.execute(
            delete(status_changes).where(status_changes.c.environment_id == second.id)
        )
        await connection.execute(delete(environments).where(environments.c.id == second.id))
    third = await repo.create(name="b", chart_name="c", values={})
    assert third.id > second.id


async def test_a_live_name_is_unique_but_free_again_after_deletion(
    repo: EnvironmentRepository,
) -> None:
    live = await repo.create(name="wiki", chart_name="mediawiki", values={})
    with pytest.raises(NameTaken) as caught:
        await repo.create(name="wiki", chart_name="mediawiki", values={})
    assert caught.value.name == "wiki"

    await repo.mark_deleted(live.id, expected_version=live.version)
    again = await repo.create(name="wiki", chart_name="mediawiki", values={})
    assert again.id != live.id
    assert (await repo.get_live_by_name("wiki")) == again
    deleted = await repo.get(live.id, include_deleted=True)
    assert deleted is not None
    assert deleted.is_deleted
    assert deleted.name == "wiki"
    assert await repo.get(live.id) is None


async def test_concurrent_creates_of_one_name_let_exactly_one_win(
    repo: EnvironmentRepository,
) -> None:
    results = await asyncio.gather(
        *(repo.create(name="race", chart_name="c", values={}) for _ in range(5)),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(exc, NameTaken) for exc in losers), losers
    assert await repo.count() == 1


async def test_a_write_based_on_an_old_version_is_rejected(repo: EnvironmentRepository) -> None:
    created = await repo.create(name="x", chart_name="c", values={})
    updated = await repo.update(created.id, expected_version=created.version, applied_revision=1)
    assert updated.version == created.version + 1
    assert updated.applied_revision == 1

    with pytest.raises(StaleRecord) as caught:
        await repo.update(created.id, expected_version=created.version, applied_revision=2)
    assert (caught.value.expected_version, caught.value.actual_version) == (1, 2)
    assert await repo.get(created.id) == updated

    with pytest.raises(EnvironmentRowMissing):
        await repo.update(created.id + 1000, expected_version=1, applied_revision=2)


async def test_concurrent_writers_of_one_version_let_exactly_one_win(
    repo: EnvironmentRepository,
) -> None:
    created = await repo.create(name="x", chart_name="c", values={})
    results = await asyncio.gather(
        *(
            repo.record_status_change(
                created.id,
                expected_version=created.version,
                source="watcher",
                status="running",
                status_reason=f"Writer{i}",
            )
            for i in range(4)
        ),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, StaleRecord) for r in results if isinstance(r, BaseException))
    assert len(await repo.list_status_changes(created.id)) == 2


async def test_update_refuses_columns_it_does_not_own(repo: EnvironmentRepository) -> None:
    created = await repo.create(name="x", chart_name="c", values={})
    with pytest.raises(TypeError):
        await repo.update(created.id, expected_version=1, version=7)  # type: ignore[call-arg]


async def test_a_status_change_writes_the_row_and_its_history_together(
    repo: EnvironmentRepository,
) -> None:
    created = await repo.create(name="x", chart_name="c", values={}, now=T0)
    t1 = T0 + timedelta(minutes=3)
    expires = t1 + timedelta(days=3)
    failed = await repo.record_status_change(
        created.id,
        expected_version=created.version,
        source="watcher",
        now=t1,
        status="failed",
        status_reason="JobFailed",
        status_message="install job failed",
        status_since=t1,
        failure_kind="creation",
        failed_at=t1,
        expires_at=expires,
    )
    assert (failed.status, failed.failure_kind, failed.expires_at) == (
        "failed",
        "creation",
        expires,
    )
    assert failed.updated_at == t1

    history = await repo.list_status_changes(created.id)
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, "starting"),
        ("starting", "failed"),
    ]
    last = history[-1]
    assert (last.reason, last.message, last.failure_kind, last.expires_at, last.source) == (
        "JobFailed",
        "install job failed",
        "creation",
        expires,
        "watcher",
    )
    assert last.occurred_at == t1


async def test_a_failure_between_the_two_writes_leaves_neither(
    repo: EnvironmentRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = await repo.create(name="x", chart_name="c", values={})

    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("crash after the environment UPDATE")

    monkeypatch.setattr(repo, "_append_status_change", explode)
    with pytest.raises(RuntimeError, match="crash after"):
        await repo.record_status_change(
            created.id, expected_version=created.version, source="watcher", status="running"
        )
    monkeypatch.undo()

    assert await repo.get(created.id) == created
    assert len(await repo.list_status_changes(created.id)) == 1


async def test_a_database_error_in_the_history_row_rolls_back_the_update(
    repo: EnvironmentRepository,
) -> None:
    created = await repo.create(name="x", chart_name="c", values={})
    with pytest.raises(Exception, match=r"(?i)null|source"):
        await repo.record_status_change(
            created.id,
            expected_version=created.version,
            source=None,  # type: ignore[arg-type]  # NOT NULL column: the INSERT fails
            status="running",
        )
    assert await repo.get(created.id) == created
    assert len(await repo.list_status_changes(created.id)) == 1


async def test_a_stale_status_change_writes_nothing(repo: EnvironmentRepository) -> None:
    created = await repo.create(name="x", chart_name="c", values={})
    current = await repo.update(created.id, expected_version=created.version, revision=2)
    with pytest.raises(StaleRecord):
        await repo.record_status_change(
            created.id, expected_version=created.version, source="watcher", status="running"
        )
    assert await repo.get(created.id) == current
    assert len(await repo.list_status_changes(created.id)) == 1
    with pytest.raises(EnvironmentRowMissing):
        await repo.record_status_change(
            created.id + 1000, expected_version=1, source="watcher", status="running"
        )


async def test_timestamps_come_back_as_aware_utc_with_microseconds(
    repo: EnvironmentRepository,
) -> None:
    # A non-UTC zone on the way in; the same instant, in UTC, on the way out.
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=plus_two)
    created = await repo.create(name="x", chart_name="c", values={}, now=local)
    stored = await repo.get(created.id)
    assert stored is not None
    for value in (stored.created_at, stored.updated_at, stored.status_since):
        assert value == local
        assert value.tzinfo is UTC
        assert value.microsecond == 999999
        assert value.hour == 21


async def test_naive_timestamps_are_refused(repo: EnvironmentRepository) -> None:
    with pytest.raises(Exception, match="naive"):
        await repo.create(name="x", chart_name="c", values={}, now=datetime(2026, 1, 1))
    assert await repo.count() == 0


async def test_json_values_and_unicode_text_round_trip(repo: EnvironmentRepository) -> None:
    values = {
        "mediawikiCore": {
            "user": "Patch Demo ✓",
            "mainPageText": 'Ünïcödé — 日本語 — emoji 🧪 — quote " backslash \\',
            "useProxy": False,
            "patches": [{"ref": "refs/changes/45/123445/3", "n": 3, "f": 1.5}],
            "empty": {},
            "nothing": None,
        },
        "extensions": [{"name": "Echo", "enable": "true"}],
        "big": 2**53 + 1,
        "bigger": 2**64 - 1,
        "negative": -(2**63),
    }
    memory = {"Deployment/web": {"seen": True, "restart_baseline": 0, "since": None}}
    message = "Back-off pulling image “wiki:1.0” — 日本語 🧪"
    created = await repo.create(name="x", chart_name="c", values=values, status_message=message)
    updated = await repo.update(created.id, expected_version=created.version, status_memory=memory)
    stored = await repo.get(updated.id)
    assert stored is not None
    assert stored.values == values
    assert stored.status_memory == memory
    assert stored.status_message == message


async def test_json_that_cannot_round_trip_exactly_is_refused(
    repo: EnvironmentRepository,
) -> None:
    with pytest.raises(UnsupportedJsonValue):
        await repo.create(name="x", chart_name="c", values={"huge": 2**64})
    assert await repo.count() == 0
    created = await repo.create(name="x", chart_name="c", values={})
    with pytest.raises(UnsupportedJsonValue):
        await repo.update(
            created.id, expected_version=created.version, status_memory={"n": -(2**64)}
        )
    assert await repo.get(created.id) == created


async def test_listing_is_ordered_by_id_and_filters_by_owner(
    repo: EnvironmentRepository, database: Database
) -> None:
    tokens = TokenRepository(database)
    alice = await tokens.create(name="alice", token="alice-secret")
    bob = await tokens.create(name="bob", token="bob-secret")
    made = [
        await repo.create(
            name=f"env-{i}",
            chart_name="c",
            values={},
            owner_token_id=alice.id if i % 2 else bob.id,
        )
        for i in range(6)
    ]
    await repo.mark_deleted(made[1].id, expected_version=made[1].version)

    live = await repo.list_live()
    assert [e.id for e in live] == sorted(e.id for e in made if e.id != made[1].id)
    assert [e.id for e in await repo.list_live(owner_token_id=alice.id)] == [
        made[3].id,
        made[5].id,
    ]
    assert await repo.count() == 5
    assert await repo.count(include_deleted=True) == 6
    assert await repo.list_live_versions() == {e.id: e.version for e in live}
    bumped = await repo.update(made[0].id, expected_version=made[0].version, revision=2)
    assert (await repo.list_live_versions())[made[0].id] == bumped.version

    wanted = [made[4].id, made[1].id, made[0].id, 999_999]
    assert [e.id for e in await repo.list_by_ids(wanted)] == [made[0].id, made[4].id]
    assert [e.id for e in await repo.list_by_ids(wanted, include_deleted=True)] == [
        made[0].id,
        made[1].id,
        made[4].id,
    ]
    assert await repo.list_by_ids([]) == []


async def test_deleting_a_token_keeps_its_environments(
    repo: EnvironmentRepository, database: Database
) -> None:
    tokens = TokenRepository(database)
    owner = await tokens.create(name="owner", token="t")
    env = await repo.create(name="x", chart_name="c", values={}, owner_token_id=owner.id)
    assert await tokens.delete("owner") is True
    kept = await repo.get(env.id)
    assert kept is not None
    assert kept.owner_token_id is None


async def test_pending_operations_are_listed_until_cleared(repo: EnvironmentRepository) -> None:
    first = await repo.create(name="a", chart_name="c", values={})
    second = await repo.create(name="b", chart_name="c", values={})
    third = await repo.create(name="c", chart_name="c", values={})
    assert [e.id for e in await repo.list_pending_operations()] == [first.id, second.id, third.id]

    done = await repo.clear_operation(first.id, expected_version=first.version)
    failed = await repo.clear_operation(
        second.id, expected_version=second.version, error="helm render failed"
    )
    assert (done.operation, done.operation_error) == (None, None)
    assert (failed.operation, failed.operation_error) == (None, "helm render failed")
    await repo.mark_deleted(third.id, expected_version=third.version)
    assert await repo.list_pending_operations() == []

    queued = await repo.set_operation(
        failed.id, expected_version=failed.version, operation="rebuild"
    )
    assert (queued.operation, queued.operation_error) == ("rebuild", None)
    assert [e.id for e in await repo.list_pending_operations()] == [second.id]


async def test_reapable_means_failed_live_and_past_expiry(repo: EnvironmentRepository) -> None:
    now = T0 + timedelta(days=10)

    async def failed(name: str, expires_at: datetime | None) -> int:
        env = await repo.create(name=name, chart_name="c", values={}, now=T0)
        await repo.record_status_change(
            env.id,
            expected_version=env.version,
            source="watcher",
            now=T0,
            status="failed",
            failure_kind="creation" if expires_at else "runtime",
            expires_at=expires_at,
        )
        return env.id

    later_due = await failed("later-due", now - timedelta(hours=1))
    first_due = await failed("first-due", now - timedelta(days=1))
    exactly_due = await failed("exactly-due", now)
    await failed("not-yet", now + timedelta(seconds=1))
    await failed("runtime", None)
    await repo.create(name="starting", chart_name="c", values={})
    gone_id = await failed("gone", now - timedelta(days=2))
    gone = await repo.get(gone_id)
    assert gone is not None
    await repo.mark_deleted(gone_id, expected_version=gone.version)

    reapable = await repo.list_reapable(now=now)
    assert [e.id for e in reapable] == [first_due, later_due, exactly_due]


async def test_inventory_is_replaced_as_a_whole(repo: EnvironmentRepository) -> None:
    from catalyst.store import ObjectRef

    env = await repo.create(name="x", chart_name="c", values={})
    other = await repo.create(name="y", chart_name="c", values={})
    assert (await repo.get_inventory(env.id)).revision is None

    web = ObjectRef("apps/v1", "Deployment", env.namespace, "web")
    job = ObjectRef("batch/v1", "Job", env.namespace, "install")
    config = ObjectRef("v1", "ConfigMap", env.namespace, "settings")
    first = await repo.set_inventory(env.id, revision=1, objects=[web, job, web])
    assert first.objects == (web, job)
    await repo.set_inventory(other.id, revision=1, objects=[config])

    await repo.set_inventory(env.id, revision=2, objects=[config, web])
    inventory = await repo.get_inventory(env.id)
    assert inventory.revision == 2
    assert inventory.objects == (web, config)
    assert (await repo.get_inventory(other.id)).objects == (config,)

    await repo.set_inventory(env.id, revision=3, objects=[])
    assert (await repo.get_inventory(env.id)).objects == ()
    with pytest.raises(EnvironmentRowMissing):
        await repo.set_inventory(999_999, revision=1, objects=[web])


async def test_mark_deleted_frees_the_name_and_keeps_the_row(
    repo: EnvironmentRepository, database: Database
) -> None:
    env = await repo.create(name="x", chart_name="c", values={}, now=T0)
    t1 = T0 + timedelta(minutes=1)
    deleted = await repo.mark_deleted(env.id, expected_version=env.version, now=t1, operation=None)
    assert deleted.deleted_at == t1
    assert deleted.operation is None
    async with database.read() as connection:
        live_name = await connection.scalar(
            select(environments.c.live_name).where(environments.c.id == env.id)
        )
    assert live_name is None
    with pytest.raises(StaleRecord):
        await repo.mark_deleted(env.id, expected_version=env.version)


async def test_list_by_ids_spans_several_in_lists(
    repo: EnvironmentRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    import catalyst.store.environments as environments_module

    made = [await repo.create(name=f"e{i}", chart_name="c", values={}) for i in range(5)]
    monkeypatch.setattr(environments_module, "_IN_CHUNK", 2)
    ids = [e.id for e in reversed(made)] + [made[0].id]
    assert await repo.list_by_ids(ids) == made
