"""Following the watch stream (resume after the last id, relist on EXPIRED, fail fast on
the first connection) and deciding a wait from its events, against scripted streams."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import pytest

from catalyst.client.api import ApiError, ConnectionFailed, WatchEvent
from catalyst.client.watch import DELETED, StatusWait, WaitResult, follow, wait_for_status

Script = list[WatchEvent | Exception]


def env(env_id: int, status: str) -> dict[str, Any]:
    return {"id": env_id, "status": status, "statusReason": "", "statusMessage": ""}


def added(env_id: int, status: str) -> WatchEvent:
    return WatchEvent("ADDED", None, env(env_id, status))


def modified(event_id: str, env_id: int, status: str) -> WatchEvent:
    return WatchEvent("MODIFIED", event_id, env(env_id, status))


class ScriptedWatch:
    """One script per connection: events, then the stream ends (or an exception ends it)."""

    def __init__(self, *connections: Script) -> None:
        self.connections = list(connections)
        self.since: list[str | None] = []

    async def watch(self, *, since: str | None = None) -> AsyncGenerator[WatchEvent, None]:
        self.since.append(since)
        assert self.connections, "connected more often than scripted"
        for item in self.connections.pop(0):
            if isinstance(item, Exception):
                raise item
            yield item


async def take(
    source: ScriptedWatch,
    count: int,
    *,
    stream_seconds: float = 0.0,
    sleeps: list[float] | None = None,
) -> list[WatchEvent]:
    """The first ``count`` events; each stream seems to last ``stream_seconds``."""
    now = [0.0]

    def clock() -> float:
        now[0] += stream_seconds / 2  # read once at the open, once at the end
        return now[0]

    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    seen: list[WatchEvent] = []
    async with aclosing(follow(source, sleep=sleep, clock=clock)) as events:
        async for event in events:
            seen.append(event)
            if len(seen) == count:
                break
    return seen


async def test_a_cut_connection_resumes_after_the_last_id() -> None:
    source = ScriptedWatch(
        [added(1, "starting"), WatchEvent("SYNCED", "7"), ConnectionFailed("u", "reset")],
        [modified("9", 1, "running")],  # then ends cleanly (the server's stream duration)
        [modified("12", 1, "failed")],
    )
    seen = await take(source, 4)
    assert [e.type for e in seen] == ["ADDED", "SYNCED", "MODIFIED", "MODIFIED"]
    assert source.since == [None, "7", "9"]


async def test_expired_is_passed_on_and_the_stream_listed_again() -> None:
    source = ScriptedWatch(
        [WatchEvent("SYNCED", "7"), ConnectionFailed("u", "reset")],
        [WatchEvent("EXPIRED", None)],
        [added(1, "running"), WatchEvent("SYNCED", "30")],
    )
    seen = await take(source, 4)
    assert [e.type for e in seen] == ["SYNCED", "EXPIRED", "ADDED", "SYNCED"]
    assert source.since == [None, "7", None]


async def test_streams_that_ran_their_course_reopen_at_once_short_ones_back_off() -> None:
    def source() -> ScriptedWatch:
        return ScriptedWatch([WatchEvent("SYNCED", "7")], [], [], [modified("8", 1, "running")])

    sleeps: list[float] = []
    await take(source(), 2, stream_seconds=60.0, sleeps=sleeps)
    assert sleeps == []
    await take(source(), 2, stream_seconds=0.01, sleeps=sleeps)
    assert sleeps == [0.25, 0.5, 1.0]


async def test_the_first_connection_fails_at_once() -> None:
    with pytest.raises(ConnectionFailed):
        await take(ScriptedWatch([ConnectionFailed("u", "refused")]), 1)
    with pytest.raises(ApiError):
        await take(ScriptedWatch([ApiError(401, "Unauthorized", [])]), 1)


async def test_server_errors_on_reconnect_are_retried_client_errors_are_not() -> None:
    source = ScriptedWatch(
        [WatchEvent("SYNCED", "7")],
        [ApiError(503, "Service Unavailable", [])],
        [modified("8", 1, "running")],
    )
    assert [e.type for e in await take(source, 2)] == ["SYNCED", "MODIFIED"]
    failing = ScriptedWatch([WatchEvent("SYNCED", "7")], [ApiError(401, "Unauthorized", [])])
    with pytest.raises(ApiError):
        await take(failing, 2)


def decide(target: str, *events: WatchEvent) -> WaitResult | None:
    wait = StatusWait(1, target)
    for event in events:
        result = wait.see(event)
        if result is not None:
            return result
    return None


SYNCED = WatchEvent("SYNCED", "5")
EXPIRED = WatchEvent("EXPIRED", None)
GONE = WatchEvent("DELETED", "6", env(1, "deleting"))
R = WaitResult


@pytest.mark.parametrize(
    ("target", "events", "result"),
    [
        ("running", [added(1, "running"), SYNCED], R.REACHED),
        ("running", [added(1, "starting"), SYNCED], None),
        ("running", [added(1, "starting"), SYNCED, modified("6", 1, "running")], R.REACHED),
        ("running", [added(2, "running"), SYNCED, modified("6", 2, "running")], R.NOT_FOUND),
        ("running", [added(1, "starting"), SYNCED, modified("6", 1, "failed")], R.FAILED),
        ("failed", [added(1, "starting"), SYNCED, modified("6", 1, "failed")], R.REACHED),
        ("running", [added(1, "starting"), SYNCED, modified("6", 1, "deleting")], R.GONE),
        ("running", [added(1, "starting"), SYNCED, GONE], R.GONE),
        (DELETED, [added(1, "failed"), SYNCED, modified("6", 1, "deleting")], None),
        (DELETED, [added(1, "deleting"), SYNCED, GONE], R.REACHED),
        (DELETED, [added(2, "running"), SYNCED], R.REACHED),
        # After EXPIRED the relist decides: gone now means deleted while disconnected.
        ("running", [added(1, "starting"), SYNCED, EXPIRED, SYNCED], R.GONE),
        ("running", [added(1, "starting"), SYNCED, EXPIRED, added(1, "running")], R.REACHED),
    ],
)
def test_a_wait_is_decided_by_the_environments_events(
    target: str, events: list[WatchEvent], result: WaitResult | None
) -> None:
    assert decide(target, *events) is result


async def test_wait_for_status_reads_the_stream_until_decided() -> None:
    source = ScriptedWatch(
        [added(1, "starting"), SYNCED, ConnectionFailed("u", "reset")],
        [modified("6", 2, "running"), modified("7", 1, "running")],
    )
    wait = StatusWait(1, "running")
    assert await wait_for_status(source, wait) is WaitResult.REACHED
    assert wait.last == env(1, "running")
