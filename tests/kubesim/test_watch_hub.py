"""WatchHub: history, compaction, snapshots, selector transitions, slow watchers."""

from __future__ import annotations

import orjson
import pytest

from kubesim.errors import ApiError
from kubesim.resources import NAMESPACE_TYPE, resource_type
from kubesim.store import Store
from kubesim.watch import Watcher, WatchHub

CM = resource_type("", "v1", "configmaps")


@pytest.fixture
def store() -> Store:
    s = Store()
    for ns in ("default", "other"):
        s.create(NAMESPACE_TYPE, {"metadata": {"name": ns}})
    return s


def cm(name: str, ns: str = "default", **labels: str) -> dict:
    return {"metadata": {"name": name, "namespace": ns, "labels": labels}}


def events(w: Watcher) -> list[tuple[str, str]]:
    out = []
    for line in w.drain():
        e = orjson.loads(line)
        out.append((e["type"], e["object"]["metadata"].get("name", "")))
    return out


async def test_watch_from_rv_replays_history_then_live(store: Store) -> None:
    hub = WatchHub(store)
    store.create(CM, cm("a"))
    rv = store.current_rv
    store.create(CM, cm("b"))
    w = hub.watch(CM, "default", predicate=None, from_rv=rv)
    store.create(CM, cm("c", ns="other"))
    store.create(CM, cm("d"))
    assert events(w) == [("ADDED", "b"), ("ADDED", "d")]


async def test_initial_events_then_live(store: Store) -> None:
    hub = WatchHub(store)
    store.create(CM, cm("a"))
    w = hub.watch(CM, None, predicate=None, from_rv=None, initial=store.list(CM))
    store.create(CM, cm("b", ns="other"))
    assert events(w) == [("ADDED", "a"), ("ADDED", "b")]


async def test_history_limit_compacts_and_old_rv_is_expired(store: Store) -> None:
    hub = WatchHub(store, history_limit=3)
    start = store.current_rv
    for i in range(5):
        store.create(CM, cm(f"c{i}"))
    assert hub.compacted_rv == start + 2
    with pytest.raises(ApiError) as err:
        hub.watch(CM, None, predicate=None, from_rv=start)
    assert err.value.code == 410
    assert err.value.reason == "Expired"
    w = hub.watch(CM, None, predicate=None, from_rv=start + 2)
    assert [n for _, n in events(w)] == ["c2", "c3", "c4"]


async def test_compact_forgets_everything(store: Store) -> None:
    hub = WatchHub(store)
    rv = store.current_rv
    store.create(CM, cm("a"))
    hub.compact()
    with pytest.raises(ApiError):
        hub.watch(CM, None, predicate=None, from_rv=rv)
    hub.watch(CM, None, predicate=None, from_rv=store.current_rv)


async def test_selector_transitions_follow_b13(store: Store) -> None:
    hub = WatchHub(store)
    w = hub.watch(
        CM,
        None,
        predicate=lambda o: o["metadata"].get("labels", {}).get("app") == "x",
        from_rv=None,
    )
    a = store.create(CM, cm("a"))  # not matching: nothing
    a = store.update(
        CM, {**a, "metadata": {**a["metadata"], "labels": {"app": "x"}}}
    )  # starts → ADDED
    a = store.update(CM, {**a, "data": {"k": "v"}})  # still matches → MODIFIED
    store.update(CM, {**a, "metadata": {**a["metadata"], "labels": {}}})  # stops → DELETED
    lines = [orjson.loads(line) for line in w.drain()]
    assert [e["type"] for e in lines] == ["ADDED", "MODIFIED", "DELETED"]
    # the DELETED carries the previous (matching) state, stamped with the new RV
    assert lines[-1]["object"]["metadata"]["labels"] == {"app": "x"}
    assert lines[-1]["object"]["metadata"]["resourceVersion"] == str(store.current_rv)


async def test_snapshot_rolls_back_to_rv(store: Store) -> None:
    hub = WatchHub(store)
    a = store.create(CM, cm("a"))
    rv = store.current_rv
    store.update(CM, {**a, "data": {"k": "2"}})
    store.create(CM, cm("b"))
    store.delete(CM, "default", "a")
    snap = hub.snapshot(CM, None, rv)
    assert [o["metadata"]["name"] for o in snap] == ["a"]
    assert "data" not in snap[0]


async def test_slow_watcher_is_closed_and_dropped(store: Store) -> None:
    hub = WatchHub(store, queue_limit=3)
    w = hub.watch(CM, None, predicate=None, from_rv=None)
    for i in range(5):
        store.create(CM, cm(f"c{i}"))
    assert w.closed
    assert "too slow" in w.close_reason
    assert hub.watcher_count == 0
    assert hub.dropped_slow_watchers == 1


async def test_events_are_encoded_once_for_all_watchers(store: Store) -> None:
    hub = WatchHub(store)
    w1 = hub.watch(CM, None, predicate=None, from_rv=None)
    w2 = hub.watch(CM, "default", predicate=None, from_rv=None)
    store.create(CM, cm("a"))
    assert w1.queue[0] is w2.queue[0]
