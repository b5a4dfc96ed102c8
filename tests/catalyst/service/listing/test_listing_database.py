"""`EnvironmentListing` against a real repository on SQLite, PostgreSQL and MariaDB: the
cached body equals the uncached presenter's, and every write shows on the next request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from catalyst.api.listing_json import ENVIRONMENT_ITEMS
from catalyst.api.presenters import environment_out
from catalyst.service.caller import Caller
from catalyst.service.freshness import Freshness, heartbeat_freshness
from catalyst.service.listing import EnvironmentListing
from catalyst.store.database import Database
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.heartbeat import HeartbeatRepository
from tests.support.patchdemo import LISTING_VALUES

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


def uncached(records: list[Any]) -> list[dict[str, Any]]:
    return [environment_out(r) for r in records]


async def listed(listing: EnvironmentListing, caller: Caller) -> list[dict[str, Any]]:
    body = await listing.body(caller, render=ENVIRONMENT_ITEMS)
    parsed: list[dict[str, Any]] = orjson.loads(body)
    return parsed


async def test_body_equals_the_presenters_json_key_for_key(
    repo: EnvironmentRepository, admin: Caller, alice: Caller
) -> None:
    for i in range(5):
        await repo.create(
            name=f"wiki-{i}",
            chart_name="mediawiki",
            values=LISTING_VALUES,
            owner_token_id=alice.token_id if i % 2 else admin.token_id,
            now=T0 + timedelta(seconds=i, microseconds=250_000 * (i % 2)),
        )
    listing = EnvironmentListing(repo)

    body = await listing.body(admin, render=ENVIRONMENT_ITEMS)

    expected = uncached(await repo.list_live())
    assert orjson.loads(body) == expected
    # Same key order as the presenter, too (clients may print it).
    assert [list(item) for item in orjson.loads(body)] == [list(e) for e in expected]
    assert body == orjson.dumps(expected)


async def test_empty_database_gives_an_empty_array(
    repo: EnvironmentRepository, admin: Caller
) -> None:
    assert await EnvironmentListing(repo).body(admin, render=ENVIRONMENT_ITEMS) == b"[]"


async def test_secrets_are_redacted(repo: EnvironmentRepository, admin: Caller) -> None:
    await repo.create(name="wiki", chart_name="mediawiki", values=LISTING_VALUES, now=T0)

    body = await EnvironmentListing(repo).body(admin, render=ENVIRONMENT_ITEMS)

    assert b"patchdemo1" not in body
    (item,) = orjson.loads(body)
    assert item["values"]["mediawikiCore"]["password"] == "***"
    assert item["values"]["extensions"][0]["apiToken"] == "***"
    assert item["values"]["mediawikiCore"]["user"] == "Patch Demo"


async def test_creates_updates_and_deletes_show_on_the_next_request(
    repo: EnvironmentRepository, admin: Caller
) -> None:
    listing = EnvironmentListing(repo)
    first = await repo.create(name="a", chart_name="mediawiki", values={}, now=T0)
    second = await repo.create(name="b", chart_name="mediawiki", values={}, now=T0)
    assert [e["id"] for e in await listed(listing, admin)] == [first.id, second.id]

    third = await repo.create(name="c", chart_name="mediawiki", values={"x": 1}, now=T0)
    changed = await repo.record_status_change(
        first.id,
        expected_version=first.version,
        source="watcher",
        now=T0 + timedelta(seconds=5),
        status="running",
        status_reason="AllResourcesCurrent",
        status_observed_at=T0 + timedelta(seconds=5),
    )
    await repo.mark_deleted(second.id, expected_version=second.version)

    items = await listed(listing, admin)

    assert items == uncached([changed, third])
    assert items[0]["status"] == "running"
    assert items[0]["statusObservedAt"] == "2026-11-25T10:00:05Z"


async def test_non_admins_see_only_their_own_environments(
    repo: EnvironmentRepository, admin: Caller, alice: Caller, bob: Caller
) -> None:
    mine = await repo.create(
        name="alices", chart_name="mediawiki", values={}, owner_token_id=alice.token_id
    )
    await repo.create(
        name="admins", chart_name="mediawiki", values={}, owner_token_id=admin.token_id
    )
    listing = EnvironmentListing(repo)

    assert [e["id"] for e in await listed(listing, alice)] == [mine.id]
    assert await listed(listing, bob) == []
    assert len(await listed(listing, admin)) == 2


async def test_only_changed_rows_are_read_again(repo: EnvironmentRepository, admin: Caller) -> None:
    records = [
        await repo.create(name=f"e{i}", chart_name="mediawiki", values={}, now=T0) for i in range(4)
    ]
    reads: list[list[int]] = []

    class CountingRepository:
        async def list_live_versions(self) -> dict[int, int]:
            return await repo.list_live_versions()

        async def list_by_ids(self, ids: Any) -> list[Any]:
            reads.append(sorted(ids))
            return await repo.list_by_ids(ids)

    listing = EnvironmentListing(CountingRepository())
    await listing.body(admin, render=ENVIRONMENT_ITEMS)
    await listing.body(admin, render=ENVIRONMENT_ITEMS)
    await repo.update(records[2].id, expected_version=records[2].version, status_message="hi")
    await listing.body(admin, render=ENVIRONMENT_ITEMS)

    assert reads == [[r.id for r in records], [records[2].id]]


async def test_heartbeat_freshness_sets_stale_and_observed_time(
    database: Database, repo: EnvironmentRepository, admin: Caller
) -> None:
    record = await repo.create(name="wiki", chart_name="mediawiki", values={}, now=T0)
    heartbeats = HeartbeatRepository(database)
    now = T0 + timedelta(minutes=10)
    clock = [now]  # the row is re-read at most once a second: each step moves time on
    listing = EnvironmentListing(
        repo,
        freshness=heartbeat_freshness(heartbeats, stale_after_seconds=120, clock=lambda: clock[0]),
    )

    # No heartbeat yet: stale, with the row's own observation time.
    (item,) = await listed(listing, admin)
    assert item["stale"] is True
    assert item["statusObservedAt"] == "2026-11-25T10:00:00Z"

    fresh_at = now - timedelta(seconds=3)
    await heartbeats.beat(holder="replica-1", synced=True, fresh_at=fresh_at, now=now)
    clock[0] += timedelta(seconds=1)
    (item,) = await listed(listing, admin)
    assert item == {
        **environment_out(record),
        "stale": False,
        "statusObservedAt": "2026-11-25T10:09:57Z",
    }

    await heartbeats.beat(holder="replica-1", synced=False, fresh_at=fresh_at, now=now)
    clock[0] += timedelta(seconds=1)
    (item,) = await listed(listing, admin)
    assert item == {**environment_out(record), "stale": True}


async def test_a_fixed_freshness_applies_to_every_item(
    repo: EnvironmentRepository, admin: Caller
) -> None:
    for name in ("a", "b"):
        await repo.create(name=name, chart_name="mediawiki", values={}, now=T0)
    observed = datetime(2026, 11, 25, 11, 0, 0, 500_000, tzinfo=UTC)

    async def fresh() -> Freshness:
        return Freshness(stale=False, observed_at=observed)

    items = await listed(EnvironmentListing(repo, freshness=fresh), admin)

    assert [(i["stale"], i["statusObservedAt"]) for i in items] == [
        (False, "2026-11-25T11:00:00.500000Z")
    ] * 2
