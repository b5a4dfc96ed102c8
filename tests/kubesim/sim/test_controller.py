"""The reconcile loop survives failures and cleans up its timers."""

from __future__ import annotations

import asyncio
import logging

import pytest

from kubesim.resources import NAMESPACE_TYPE, ResourceType
from kubesim.sim.clock import Clock
from kubesim.sim.controller import Controller, Key, OwnerController
from kubesim.sim.objects import CONFIG_MAP, JOB, POD, REPLICASET
from kubesim.store import Event, Store


class Flaky(Controller):
    name = "flaky"

    def __init__(self, store: Store) -> None:
        super().__init__(store, Clock())
        self.calls = 0
        self.done = asyncio.Event()

    def keys_for(self, event: Event) -> list[Key]:
        return []

    def reconcile(self, key: Key) -> float | None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("boom")
        self.done.set()
        return None


async def test_failed_reconcile_is_logged_and_retried(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kubesim.sim.controller.RETRY_AFTER_ERROR", 0.01)
    controller = Flaky(Store())
    await controller.start()
    try:
        with caplog.at_level(logging.ERROR, logger="kubesim.sim.controller"):
            controller.enqueue(("ns", "x"))
            await asyncio.wait_for(controller.done.wait(), 5)
        assert controller.calls == 2
        assert "failed to reconcile ns/x" in caplog.text
        assert "RuntimeError: boom" in caplog.text
    finally:
        await controller.stop()


async def test_stop_cancels_timers_and_worker() -> None:
    controller = Flaky(Store())
    await controller.start()
    controller.schedule(("ns", "later"), 60)
    assert controller._timers
    await controller.stop()
    assert not controller._timers
    assert not controller._queue.running


async def test_schedule_replaces_the_pending_timer() -> None:
    controller = Flaky(Store())
    await controller.start()
    try:
        controller.schedule(("ns", "a"), 60)
        first = controller._timers[("ns", "a")]
        controller.schedule(("ns", "a"), 30)
        assert first.cancelled()
        assert len(controller._timers) == 1
    finally:
        await controller.stop()


class PodOwner(OwnerController):
    name = "pod-owner"
    owner = REPLICASET
    child = POD

    def reconcile(self, key: Key) -> float | None:
        return None


def _event(rt: ResourceType, name: str, owner_kind: str | None = None) -> Event:
    meta: dict[str, object] = {"name": name, "namespace": "ns"}
    if owner_kind is not None:
        meta["ownerReferences"] = [
            {"kind": owner_kind, "name": "boss", "uid": "u1", "controller": True}
        ]
    return Event("ADDED", rt, {"metadata": meta}, None, 1)


def test_owner_controller_maps_owners_and_controlled_children_to_owner_keys() -> None:
    controller = PodOwner(Store(), Clock())
    assert list(controller.keys_for(_event(REPLICASET, "rs"))) == [("ns", "rs")]
    assert list(controller.keys_for(_event(POD, "p", owner_kind="ReplicaSet"))) == [("ns", "boss")]
    assert list(controller.keys_for(_event(POD, "p", owner_kind="Job"))) == []
    assert list(controller.keys_for(_event(POD, "p"))) == []
    assert list(controller.keys_for(_event(JOB, "j", owner_kind="ReplicaSet"))) == []


async def test_store_write_helpers_swallow_refusals() -> None:
    store = Store()
    store.create(NAMESPACE_TYPE, {"metadata": {"name": "ns"}})
    controller = PodOwner(store, Clock())
    cm = {"metadata": {"name": "cm", "namespace": "ns"}}
    created = controller.create_or_none(CONFIG_MAP, cm)
    assert created is not None
    assert controller.create_or_none(CONFIG_MAP, cm) is None  # 409: name taken
    assert (
        controller.create_or_none(CONFIG_MAP, {"metadata": {"name": "x", "namespace": "no"}})
        is None
    )
    controller.delete_quietly(CONFIG_MAP, created)
    assert store.get(CONFIG_MAP, "ns", "cm") is None
    controller.delete_quietly(CONFIG_MAP, created)  # 404: already gone
