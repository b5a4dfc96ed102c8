"""The reflector's decision rules (k8s-semantics A2-A9), driven by a scripted list/watch.

These are unit tests of the branching logic only; the same behaviour is proven against a
real API server (kubesim and its fault controls) in the watcher's integration tests.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from catalyst.cluster.errors import ClusterConnectionError, ClusterError
from catalyst.watcher.backoff import Backoff
from catalyst.watcher.listwatch import WatchEvent
from catalyst.watcher.reflector import ExpiredError, Reflector, VeryShortWatchError
from tests.support.scripted_listwatch import ScriptedListWatch, cm, page


@dataclass
class RecordingStore:
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def replace(self, objects: list[dict[str, Any]], resource_version: str) -> None:
        self.calls.append(("replace", ([o["metadata"]["name"] for o in objects], resource_version)))

    def add(self, obj: dict[str, Any]) -> None:
        self.calls.append(("add", obj["metadata"]["name"]))

    def update(self, obj: dict[str, Any]) -> None:
        self.calls.append(("update", obj["metadata"]["name"]))

    def delete(self, obj: dict[str, Any]) -> None:
        self.calls.append(("delete", obj["metadata"]["name"]))

    def bookmark(self, resource_version: str) -> None:
        self.calls.append(("bookmark", resource_version))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(lw: ScriptedListWatch, **options: Any) -> tuple[Reflector, RecordingStore, list[float]]:
    store = RecordingStore()
    sleeps: list[float] = []
    clock = Clock()

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += seconds

    reflector = Reflector(
        lw,
        store,
        backoff=Backoff(clock=clock, rand=lambda: 0.0),
        clock=clock,
        sleep=sleep,
        rand=lambda: 0.5,
        **options,
    )
    return reflector, store, sleeps


def expired_event(rv: int) -> WatchEvent:
    return WatchEvent(
        "ERROR",
        {"kind": "Status", "code": 410, "reason": "Expired", "message": f"too old: {rv}"},
    )


async def test_first_list_asks_for_any_then_watches_from_the_list_rv() -> None:
    lw = ScriptedListWatch(
        lists=[page([cm("a", 5)], 10)],
        watches=[[WatchEvent("ADDED", cm("b", 11)), WatchEvent("MODIFIED", cm("a", 12))]],
    )
    reflector, store, _ = make(lw, min_watch_timeout=300)
    with pytest.raises(asyncio.CancelledError):
        await reflector.list_and_watch()
    assert lw.list_calls == [{"rv": "0", "limit": 500, "continue": None}]
    assert lw.watch_calls[0]["rv"] == "10"
    assert lw.watch_calls[0]["timeout"] == 450  # uniform in [300, 600)
    assert store.calls == [("replace", (["a"], "10")), ("add", "b"), ("update", "a")]
    assert reflector.last_sync_resource_version == "12"
    assert lw.watch_calls[1]["rv"] == "12"  # clean close: re-watch from lastSync at once


async def test_list_items_get_kind_and_api_version() -> None:
    seen: list[dict[str, Any]] = []
    lw = ScriptedListWatch(lists=[page([cm("a", 5)], 10)])

    def keep(obj: dict[str, Any]) -> dict[str, Any]:
        seen.append(obj)
        return obj

    reflector, _, _ = make(lw, transform=keep)
    with pytest.raises(asyncio.CancelledError):
        await reflector.list_and_watch()
    assert seen[0]["kind"] == "ConfigMap"
    assert seen[0]["apiVersion"] == "v1"


async def test_bookmarks_move_last_sync_without_touching_objects() -> None:
    lw = ScriptedListWatch(
        lists=[page([], 10)],
        watches=[[WatchEvent("BOOKMARK", {"metadata": {"resourceVersion": "99"}})]],
    )
    reflector, store, _ = make(lw)
    with pytest.raises(asyncio.CancelledError):
        await reflector.list_and_watch()
    assert store.calls[-1] == ("bookmark", "99")
    assert lw.watch_calls[1]["rv"] == "99"


async def test_expired_in_stream_ends_the_round_for_a_relist_at_last_sync() -> None:
    lw = ScriptedListWatch(
        lists=[page([], 10), page([], 20)],
        watches=[[WatchEvent("ADDED", cm("a", 15)), expired_event(15)]],
    )
    reflector, _, _ = make(lw)
    with pytest.raises(ExpiredError):
        await reflector.list_and_watch()
    with pytest.raises(asyncio.CancelledError):
        await reflector.list_and_watch()
    assert [c["rv"] for c in lw.list_calls] == ["0", "15"]
    assert lw.list_calls[1]["limit"] is None  # a specific RV is never paged (would be Exact)


async def test_expired_list_is_retried_at_once_as_a_consistent_read() -> None:
    gone = ClusterError(410, "Expired", "too old resource version")
    lw = ScriptedListWatch(lists=[gone, page([cm("a", 30)], 31)])
    reflector, store, sleeps = make(lw)
    reflector.last_sync_resource_version = "5"
    with pytest.raises(asyncio.CancelledError):
        await reflector.list_and_watch()
    assert [c["rv"] for c in lw.list_calls] == ["5", ""]
    assert sleeps == []
    assert store.calls[0] == ("replace", (["a"], "31"))


async def test_too_large_resource_version_is_handled_like_expired() -> None:
    too_large = ClusterError(
        504,
        "Timeout",
        "Too large resource version: 50, current: 40",
        details={"causes": [{"type": "ResourceVersionTooLarge"}]},
    )
    lw = ScriptedListWatch(lists=[too_large, page([], 41)])
    reflector, _, _ = make(lw)
    reflector.last_sync_resource_version = "50"
    with pytest.raises(asyncio.CancelledError):
        await reflector.list_and_watch()
    assert [c["rv"] for c in lw.list_calls] == ["50", ""]


async def test_throttled_watch_open_backs_off_and_rewatches_without_relisting() -> None:
    lw = ScriptedListWatch(
        lists=[page([], 10)],
        watches=[
            ClusterError(429, "TooManyRequests", "slow down"),
            ClusterConnectionError("GET /api/v1/configmaps: refused"),
            [WatchEvent("ADDED", cm("a", 11))],
        ],
    )
    reflector, _, sleeps = make(lw)
    with pytest.raises(asyncio.CancelledError):
        await reflector.list_and_watch()
    assert len(lw.list_calls) == 1
    assert sleeps == pytest.approx([0.8, 1.6])
    assert [c["rv"] for c in lw.watch_calls] == ["10", "10", "10", "11"]


async def test_other_watch_errors_end_the_round() -> None:
    lw = ScriptedListWatch(
        lists=[page([], 10)],
        watches=[ClusterError(503, "ServiceUnavailable", "paused")],
    )
    reflector, _, _ = make(lw)
    with pytest.raises(ClusterError, match="paused"):
        await reflector.list_and_watch()


async def test_a_watch_closing_at_once_without_events_is_an_error() -> None:
    lw = ScriptedListWatch(lists=[page([], 10)], watches=[[]])
    reflector, _, _ = make(lw)
    with pytest.raises(VeryShortWatchError):
        await reflector.list_and_watch()


async def test_pages_are_followed_and_an_expired_token_falls_back_to_one_full_list() -> None:
    gone = ClusterError(410, "Expired", "The provided continue parameter is too old")
    lw = ScriptedListWatch(
        lists=[page([cm("a", 1)], 10, token="t1"), gone, page([cm("a", 1), cm("b", 2)], 12)],
    )
    reflector, store, _ = make(lw)
    with pytest.raises(asyncio.CancelledError):
        await reflector.list_and_watch()
    assert lw.list_calls[1]["continue"] == "t1"
    assert lw.list_calls[2] == {"rv": "0", "limit": None, "continue": None}
    assert store.calls[0] == ("replace", (["a", "b"], "12"))


async def test_watch_list_replaces_at_the_end_bookmark_and_keeps_the_stream() -> None:
    end = WatchEvent(
        "BOOKMARK",
        {
            "metadata": {
                "resourceVersion": "20",
                "annotations": {"k8s.io/initial-events-end": "true"},
            }
        },
    )
    lw = ScriptedListWatch(
        watches=[
            [
                WatchEvent("ADDED", cm("a", 3)),
                WatchEvent("ADDED", cm("b", 4)),
                end,
                WatchEvent("MODIFIED", cm("a", 21)),
            ]
        ],
    )
    reflector, store, _ = make(lw, use_watch_list=True)
    with pytest.raises(asyncio.CancelledError):
        await reflector.list_and_watch()
    assert lw.list_calls == []
    assert lw.watch_calls[0]["initial"] is True
    assert store.calls == [("replace", (["a", "b"], "20")), ("update", "a")]
    assert lw.watch_calls[1] == {"rv": "21", "timeout": 450, "initial": False}


async def test_watch_list_refused_falls_back_to_list_and_watch() -> None:
    refused = ClusterError(422, "Invalid", "sendInitialEvents is forbidden")
    lw = ScriptedListWatch(lists=[page([], 7)], watches=[refused])
    reflector, store, _ = make(lw, use_watch_list=True)
    with pytest.raises(asyncio.CancelledError):
        await reflector.list_and_watch()
    assert reflector.use_watch_list is False
    assert store.calls == [("replace", ([], "7"))]


async def test_health_turns_false_on_failure_and_true_after_a_list() -> None:
    lw = ScriptedListWatch(lists=[page([], 1)])
    reflector, _, _ = make(lw)
    assert reflector.healthy is False
    with pytest.raises(asyncio.CancelledError):
        await reflector.list_and_watch()
    assert reflector.healthy is True
    assert reflector.unhealthy_since is None
