"""The controller skeleton: listener registration, seeding, restart, vanished writes."""

from __future__ import annotations

import asyncio

import pytest

from kubesim.controllers.base import QueuedController, unless_vanished
from kubesim.errors import ApiError
from kubesim.resources import NAMESPACE_TYPE, resource_type
from kubesim.store import Event, Store

CONFIGMAPS = resource_type("", "v1", "configmaps")


class Recorder(QueuedController[str]):
    """Queues the name of every ConfigMap that changes; seeds with the existing ones."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, "recorder")
        self.processed: list[str] = []

    def seed(self) -> None:
        for cm in self.store.list(CONFIGMAPS):
            self.enqueue(cm["metadata"]["name"])

    def on_event(self, event: Event) -> None:
        if event.resource is CONFIGMAPS:
            self.enqueue(event.obj["metadata"]["name"])

    def process(self, item: str) -> None:
        self.processed.append(item)


def _configmap(store: Store, name: str) -> None:
    store.create(CONFIGMAPS, {"metadata": {"name": name, "namespace": "ns"}})


@pytest.fixture
def store() -> Store:
    store = Store()
    store.create(NAMESPACE_TYPE, {"metadata": {"name": "ns"}})
    return store


async def test_seeds_then_follows_events_and_unlistens_on_stop(store: Store) -> None:
    _configmap(store, "before")
    recorder = Recorder(store)
    await recorder.start()
    await recorder.start()  # idempotent: a second listener would outlive stop()
    _configmap(store, "during")
    await asyncio.wait_for(recorder.wait_idle(), timeout=5)
    await recorder.stop()
    assert recorder.processed == ["before", "during"]

    # A listener left behind would queue "after" now, ahead of the seed on restart.
    _configmap(store, "after")
    await recorder.start()
    await asyncio.wait_for(recorder.wait_idle(), timeout=5)
    await recorder.stop()
    assert recorder.processed == ["before", "during", "before", "during", "after"]


async def test_start_after_stop_seeds_again(store: Store) -> None:
    recorder = Recorder(store)
    await recorder.start()
    await recorder.stop()
    _configmap(store, "missed-while-stopped")
    await recorder.start()
    await asyncio.wait_for(recorder.wait_idle(), timeout=5)
    await recorder.stop()
    assert recorder.processed == ["missed-while-stopped"]


@pytest.mark.parametrize("code", [404, 409])
def test_unless_vanished_skips_gone_or_replaced_objects(code: int) -> None:
    with unless_vanished("test write"):
        raise ApiError("NotFound" if code == 404 else "Conflict", "gone", code=code)


def test_unless_vanished_lets_other_errors_through() -> None:
    with pytest.raises(ApiError) as info, unless_vanished("test write"):
        raise ApiError("Forbidden", "no", code=403)
    assert info.value.code == 403
