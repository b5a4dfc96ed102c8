"""``GET /api/environments?watch=1`` against a running Catalyst (embedded kubesim, real HTTP):
the initial list and SYNCED, then an environment's life as events (ADDED when created,
MODIFIED as its status changes, DELETED at the end), heartbeats, per-token visibility,
resuming with ``Last-Event-ID``, and EXPIRED for a position that does not exist."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.live import LiveCatalyst, live_catalyst
from tests.support.live_api import create_environment
from tests.support.live_cluster import FAST_WATCHER
from tests.support.sse import SseEvent, SseReader
from tests.support.waiting import bounded

WAIT = 60.0


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveCatalyst]:
    async with live_catalyst(tmp_path / "data", **FAST_WATCHER) as running:
        yield running


@asynccontextmanager
async def watching(
    live: LiveCatalyst, token: str, *, params: str = "watch=1", last_event_id: str | None = None
) -> AsyncIterator[SseReader]:
    headers = {"Authorization": f"ApiToken {token}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    timeout = httpx.Timeout(10.0, read=WAIT)
    async with (
        httpx.AsyncClient(base_url=live.url, headers=headers, timeout=timeout) as client,
        client.stream("GET", f"/api/environments?{params}") as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SseReader(response)


async def until(reader: SseReader, event: str, status: str | None = None) -> SseEvent:
    """The next event of type ``event`` (and status ``status``), skipping others."""
    while True:
        seen = await reader.next()
        if seen.event == event and (status is None or seen.json()["status"] == status):
            return seen


async def test_an_environments_life_arrives_as_events(
    live: LiveCatalyst, api: httpx.AsyncClient
) -> None:
    async with (
        watching(live, live.admin_token) as admin,
        watching(live, live.bob_token) as bob,
    ):
        synced = await admin.next()
        assert (synced.event, synced.json()) == ("SYNCED", {})
        assert synced.id is not None
        assert (await bob.next()).event == "SYNCED"

        env_id = await create_environment(api, "watched")
        added = await until(admin, "ADDED")
        assert (added.json()["id"], added.json()["status"]) == (env_id, "starting")
        running = await until(admin, "MODIFIED", "running")
        assert running.json()["id"] == env_id
        assert running.id is not None
        assert int(running.id) > int(synced.id)

        response = await api.delete(f"/api/environments/{env_id}")
        assert response.status_code == 202, response.text
        deleted = await until(admin, "DELETED")
        assert deleted.json()["id"] == env_id
        assert admin.comments > 0, "no heartbeat comment"

        # bob's stream skipped all of that: the first event it shows is his own create.
        headers = {"Authorization": f"ApiToken {live.bob_token}"}
        async with httpx.AsyncClient(base_url=live.url, headers=headers, timeout=30) as as_bob:
            bobs = await create_environment(as_bob, "bobs")
        first = await bob.next()
        assert (first.event, first.json()["id"]) == ("ADDED", bobs)
        assert int(first.id or 0) > int(deleted.id or 0)
        assert bob.comments > 0, "no heartbeat comment"

    # A new stream of bob's lists only his environment: no ADDED for the admin's.
    async with watching(live, live.bob_token) as later:
        listed = await later.next()
        assert (listed.event, listed.json()["id"]) == ("ADDED", bobs)
        assert (await later.next()).event == "SYNCED"

    # Resuming after the SYNCED id replays exactly the admin's environment's life.
    async with watching(live, live.admin_token, last_event_id=synced.id) as resumed:
        replay = [await resumed.next() for _ in range(3)]
        assert replay[0].event == "ADDED"
        assert replay[-1].event in ("MODIFIED", "DELETED")
        assert all(int(e.id or 0) > int(synced.id) for e in replay)


async def test_a_position_that_does_not_exist_here_expires_the_watch(
    live: LiveCatalyst,
) -> None:
    async with watching(live, live.admin_token, params="watch=true&since=999999") as reader:
        assert (await reader.next()).event == "EXPIRED"
        with pytest.raises(StopAsyncIteration):
            await reader.next()


async def test_without_watch_the_list_is_unchanged(
    live: LiveCatalyst, api: httpx.AsyncClient
) -> None:
    env_id = await create_environment(api, "listed")
    response = await api.get("/api/environments", params={"since": "12", "unknown": "x"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert [e["id"] for e in response.json()] == [env_id]
    bad = await api.get("/api/environments", params={"watch": "1", "since": "-1"})
    assert bad.status_code == 422, bad.text


async def test_heartbeats_say_when_the_watchers_data_is_stale(tmp_path: Path) -> None:
    # No change arrives while the cluster is away: only the heartbeats can tell a client.
    async with (
        live_catalyst(tmp_path / "data", **FAST_WATCHER, status_stale_timeout=2.0) as live,
        watching(live, live.admin_token) as stream,
    ):
        assert live.catalyst.kubesim is not None
        await bounded(heartbeat_saying(stream, "watcher=fresh"), "a fresh heartbeat", within=WAIT)

        live.catalyst.kubesim.faults.pause()  # the informers lose the cluster
        try:
            await bounded(
                heartbeat_saying(stream, "watcher=stale"), "a stale heartbeat", within=WAIT
            )
        finally:
            live.catalyst.kubesim.faults.resume()
        await bounded(
            heartbeat_saying(stream, "watcher=fresh"), "a fresh heartbeat again", within=WAIT
        )


async def heartbeat_saying(stream: SseReader, text: str) -> str:
    while True:
        comment = await stream.next_comment()
        if text in comment:
            return comment
