"""Concurrent requests: one refresh at a time, no stampede, and never an answer older than
the request (a request does not join a refresh that started before it arrived)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

import orjson
import pytest

from catalyst.api.listing_json import ENVIRONMENT_ITEMS, JsonItemRenderer
from catalyst.api.presenters import environment_out
from catalyst.service.caller import Caller
from catalyst.service.listing import EnvironmentListing
from catalyst.store.records import EnvironmentRecord

WAIT = 5.0
T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
ADMIN = Caller(token_id=1, name="admin", admin=True)


def record(env_id: int, version: int = 1, status: str = "starting") -> EnvironmentRecord:
    return EnvironmentRecord(
        id=env_id, name=f"e{env_id}", chart_name="mediawiki", values={}, namespace=f"env-{env_id}",
        owner_token_id=1, status=status, status_reason="", status_message="", status_since=T0,
        status_observed_at=T0, failure_kind=None, failed_at=None, expires_at=None,
        ever_running=False, lifecycle="creating", revision=1, applied_revision=None,
        operation=None, operation_error=None, status_memory={}, created_at=T0, updated_at=T0,
        deleted_at=None, version=version,
    )  # fmt: skip


class GatedRepository:
    """An in-memory repository whose version query can be held at a gate."""

    def __init__(self) -> None:
        self.rows: dict[int, EnvironmentRecord] = {}
        self.version_queries = 0
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def list_live_versions(self) -> dict[int, int]:
        self.version_queries += 1
        snapshot = {i: r.version for i, r in sorted(self.rows.items())}
        self.entered.set()
        if self.gate is not None:
            await asyncio.wait_for(self.gate.wait(), WAIT)
        return snapshot

    async def list_by_ids(self, ids: Iterable[int]) -> list[EnvironmentRecord]:
        return [self.rows[i] for i in sorted(set(ids)) if i in self.rows]


async def statuses(body: bytes) -> list[str]:
    return [item["status"] for item in orjson.loads(body)]


async def test_concurrent_requests_share_refreshes() -> None:
    repo = GatedRepository()
    repo.rows[1] = record(1)
    listing = EnvironmentListing(repo)
    repo.gate = asyncio.Event()

    first = asyncio.create_task(listing.body(ADMIN, render=ENVIRONMENT_ITEMS))
    await asyncio.wait_for(repo.entered.wait(), WAIT)
    # Arrived while the first refresh runs: they all share one queued refresh.
    later = [asyncio.create_task(listing.body(ADMIN, render=ENVIRONMENT_ITEMS)) for _ in range(20)]
    await asyncio.sleep(0)
    repo.gate.set()
    bodies = await asyncio.wait_for(asyncio.gather(first, *later), WAIT)

    assert repo.version_queries == 2
    assert len(set(bodies)) == 1


async def test_a_request_never_gets_a_refresh_that_started_before_it() -> None:
    repo = GatedRepository()
    repo.rows[1] = record(1)
    listing = EnvironmentListing(repo)
    repo.gate = asyncio.Event()
    early = asyncio.create_task(listing.body(ADMIN, render=ENVIRONMENT_ITEMS))
    await asyncio.wait_for(repo.entered.wait(), WAIT)

    # A write commits while the early refresh is in flight, then a request arrives.
    repo.rows[1] = replace(repo.rows[1], status="running", version=2)
    late = asyncio.create_task(listing.body(ADMIN, render=ENVIRONMENT_ITEMS))
    await asyncio.sleep(0)
    repo.gate.set()

    await asyncio.wait_for(early, WAIT)
    assert await statuses(await asyncio.wait_for(late, WAIT)) == ["running"]
    assert repo.version_queries == 2


async def test_a_cancelled_request_does_not_cancel_the_shared_refresh() -> None:
    repo = GatedRepository()
    repo.rows[1] = record(1)
    listing = EnvironmentListing(repo)
    repo.gate = asyncio.Event()
    leaving = asyncio.create_task(listing.body(ADMIN, render=ENVIRONMENT_ITEMS))
    await asyncio.wait_for(repo.entered.wait(), WAIT)
    staying = asyncio.create_task(listing.body(ADMIN, render=ENVIRONMENT_ITEMS))
    await asyncio.sleep(0)

    leaving.cancel()
    repo.gate.set()

    assert await statuses(await asyncio.wait_for(staying, WAIT)) == ["starting"]
    with pytest.raises(asyncio.CancelledError):
        await leaving


async def test_many_changed_rows_render_in_a_worker_thread_with_the_same_result() -> None:
    repo = GatedRepository()
    for i in range(1, 30):
        repo.rows[i] = record(i, status="running" if i % 3 else "failed")
    inline = await EnvironmentListing(repo).body(ADMIN, render=ENVIRONMENT_ITEMS)
    threaded = await EnvironmentListing(repo, inline_render_limit=0).body(
        ADMIN, render=ENVIRONMENT_ITEMS
    )

    assert inline == threaded == orjson.dumps([environment_out(r) for r in repo.rows.values()])


async def test_a_different_renderer_replaces_every_cached_item() -> None:
    repo = GatedRepository()
    repo.rows[1] = record(1)
    listing = EnvironmentListing(repo)
    await listing.body(ADMIN, render=ENVIRONMENT_ITEMS)

    def shouting(r: EnvironmentRecord) -> dict[str, object]:
        return {**environment_out(r), "name": r.name.upper()}

    body = await listing.body(ADMIN, render=JsonItemRenderer(shouting))

    assert orjson.loads(body)[0]["name"] == "E1"


async def test_an_id_committed_out_of_order_is_listed_in_id_order() -> None:
    repo = GatedRepository()
    repo.rows[1], repo.rows[5] = record(1), record(5)
    listing = EnvironmentListing(repo)
    await listing.body(ADMIN, render=ENVIRONMENT_ITEMS)

    repo.rows[3] = record(3)  # e.g. a PostgreSQL sequence value committed late
    repo.rows[7] = record(7)
    body = await listing.body(ADMIN, render=ENVIRONMENT_ITEMS)

    assert [item["id"] for item in orjson.loads(body)] == [1, 3, 5, 7]


async def test_a_row_deleted_between_the_two_reads_is_left_out() -> None:
    class VanishingRepository(GatedRepository):
        async def list_by_ids(self, ids: Iterable[int]) -> list[EnvironmentRecord]:
            self.rows.pop(2, None)  # deleted after the version query saw it changed
            return await super().list_by_ids(ids)

    repo = VanishingRepository()
    repo.rows[1], repo.rows[2] = record(1), record(2)
    listing = EnvironmentListing(repo)
    first = await listing.body(ADMIN, render=ENVIRONMENT_ITEMS)
    assert [i["id"] for i in orjson.loads(first)] == [1]

    repo.rows[1] = replace(repo.rows[1], status="running", version=2)
    body = await listing.body(ADMIN, render=ENVIRONMENT_ITEMS)

    assert orjson.loads(body) == [environment_out(repo.rows[1])]
    assert listing.size == 1


async def test_closing_waits_for_the_refresh_in_flight_then_refuses_requests() -> None:
    repo = GatedRepository()
    repo.rows[1] = record(1)
    listing = EnvironmentListing(repo)
    repo.gate = asyncio.Event()
    request = asyncio.create_task(listing.body(ADMIN, render=ENVIRONMENT_ITEMS))
    await asyncio.wait_for(repo.entered.wait(), WAIT)

    closing = asyncio.create_task(listing.aclose())
    await asyncio.sleep(0)
    assert not closing.done()
    repo.gate.set()
    await asyncio.wait_for(closing, WAIT)

    assert await statuses(await asyncio.wait_for(request, WAIT)) == ["starting"]
    with pytest.raises(RuntimeError, match="closed"):
        await listing.body(ADMIN, render=ENVIRONMENT_ITEMS)
