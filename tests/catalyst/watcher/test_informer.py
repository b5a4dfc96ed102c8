"""SharedInformer delivery guarantees, with the reflector's store calls made directly."""

from __future__ import annotations

import asyncio
from typing import Any

from catalyst.watcher.indexer import label_index
from catalyst.watcher.informer import DeletedFinalStateUnknown, SharedInformer
from tests.support.scripted_listwatch import ScriptedListWatch, cm


class Recorder:
    def __init__(self, informer: SharedInformer | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.informer = informer
        self.cache_sizes: list[int] = []
        self.called = asyncio.Event()

    def record(self, *call: Any) -> None:
        self.calls.append(call)
        self.called.set()

    def on_add(self, obj: dict[str, Any], is_initial: bool) -> None:
        self.record("add", obj["metadata"]["name"], is_initial)
        if self.informer is not None:
            self.cache_sizes.append(len(self.informer.indexer))

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.record("update", new["metadata"]["name"], new["metadata"]["resourceVersion"])

    def on_delete(self, obj: dict[str, Any] | DeletedFinalStateUnknown) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            self.record("tombstone", obj.key)
        else:
            self.record("delete", obj["metadata"]["name"])


async def drained(informer: SharedInformer, *recorders: Recorder, count: int) -> None:
    async def wait() -> None:
        while sum(len(r.calls) for r in recorders) < count:
            await asyncio.wait([asyncio.create_task(r.called.wait()) for r in recorders])
            for r in recorders:
                r.called.clear()

    await asyncio.wait_for(wait(), timeout=2)


async def started(**options: Any) -> SharedInformer:
    informer = SharedInformer(ScriptedListWatch(), **options)
    await informer.start()
    return informer


async def test_initial_list_is_delivered_as_initial_adds_and_marks_synced() -> None:
    informer = SharedInformer(ScriptedListWatch())
    recorder = Recorder(informer)
    registration = informer.add_event_handler(recorder)
    await informer.start()
    try:
        assert not informer.has_synced()
        informer.replace([cm("a", 1), cm("b", 2)], "2")
        assert informer.has_synced()
        await drained(informer, recorder, count=2)
        assert recorder.calls == [("add", "a", True), ("add", "b", True)]
        assert recorder.cache_sizes == [2, 2]  # cache updated before handlers run
        assert registration.has_synced()
    finally:
        await informer.stop()


async def test_relist_reports_vanished_keys_as_tombstones_then_only_real_changes() -> None:
    informer = await started()
    recorder = Recorder()
    informer.add_event_handler(recorder)
    try:
        informer.replace([cm("a", 1), cm("b", 2), cm("c", 3)], "3")
        await drained(informer, recorder, count=3)
        recorder.calls.clear()
        informer.replace([cm("a", 1), cm("c", 9), cm("d", 10)], "10")
        await drained(informer, recorder, count=3)
        assert recorder.calls == [
            ("tombstone", "ns/b"),
            ("update", "c", "9"),
            ("add", "d", False),
        ]
    finally:
        await informer.stop()


async def test_deletes_of_unknown_keys_are_dropped() -> None:
    informer = await started()
    recorder = Recorder()
    informer.add_event_handler(recorder)
    try:
        informer.replace([], "1")
        informer.delete(cm("ghost", 2))
        informer.add(cm("a", 3))
        informer.delete(cm("a", 4))
        await drained(informer, recorder, count=2)
        assert recorder.calls == [("add", "a", False), ("delete", "a")]
    finally:
        await informer.stop()


async def test_a_handler_added_after_start_gets_the_cache_first() -> None:
    informer = await started()
    try:
        informer.replace([cm("a", 1)], "1")
        late = Recorder()
        registration = informer.add_event_handler(late)
        assert not registration.has_synced()
        informer.update(cm("a", 2))
        await drained(informer, late, count=2)
        assert late.calls == [("add", "a", True), ("update", "a", "2")]
        assert registration.has_synced()
    finally:
        await informer.stop()


async def test_a_failing_handler_does_not_stop_delivery() -> None:
    class Broken(Recorder):
        def on_add(self, obj: dict[str, Any], is_initial: bool) -> None:
            super().on_add(obj, is_initial)
            raise RuntimeError("boom")

    informer = await started()
    broken = Broken()
    informer.add_event_handler(broken)
    try:
        informer.add(cm("a", 1))
        informer.add(cm("b", 2))
        await drained(informer, broken, count=2)
        assert [c[1] for c in broken.calls] == ["a", "b"]
    finally:
        await informer.stop()


async def test_indexes_answer_by_environment() -> None:
    informer = await started(indexers={"env": label_index("env")})
    try:
        labelled = cm("a", 1)
        labelled["metadata"]["labels"] = {"env": "7"}
        informer.replace([labelled, cm("b", 2)], "2")
        assert [o["metadata"]["name"] for o in informer.indexer.by_index("env", "7")] == ["a"]
    finally:
        await informer.stop()


async def test_resync_replays_the_cache_as_updates() -> None:
    informer = SharedInformer(ScriptedListWatch(), resync_period=0.01)
    recorder = Recorder()
    informer.add_event_handler(recorder)
    await informer.start()
    try:
        informer.replace([cm("a", 1)], "1")
        await drained(informer, recorder, count=2)
        assert recorder.calls[1] == ("update", "a", "1")
    finally:
        await informer.stop()


def _job(name: str, *, complete: bool, env: str = "7") -> dict[str, Any]:
    conditions = [{"type": "Complete", "status": "True"}] if complete else []
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": "env-7",
            "resourceVersion": "1",
            "labels": {"catalyst.io/environment-id": env},
        },
        "status": {"conditions": conditions},
    }


async def test_final_states_of_deleted_objects_are_kept_when_the_predicate_accepts_them() -> None:
    def completed(obj: dict[str, Any]) -> bool:
        return bool((obj.get("status") or {}).get("conditions"))

    informer = SharedInformer(ScriptedListWatch(), keep_final_state=completed)
    informer.replace([_job("done", complete=False), _job("running", complete=False)], "1")
    informer.delete(_job("done", complete=True))  # a DELETED event carries the final state
    informer.delete(_job("running", complete=False))
    assert list(informer.departed) == ["env-7/done"]
    # A relist that no longer holds a completed object keeps its last known state too.
    informer.add(_job("ttl", complete=True))
    informer.replace([], "2")
    assert sorted(informer.departed) == ["env-7/done", "env-7/ttl"]
    # Re-created (a new revision): the final state of the old one is dropped.
    informer.add(_job("done", complete=False))
    assert sorted(informer.departed) == ["env-7/ttl"]
    informer.forget_departed(lambda obj: True)
    assert informer.departed == {}
