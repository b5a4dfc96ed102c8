"""Fixtures: a real Store with namespace ``ns``, fast rules, a started Simulator, and a
waiter that re-checks a condition on every store event (no fixed sleeps)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from kubesim.resources import NAMESPACE_TYPE
from kubesim.sim import Simulator, parse_rules
from kubesim.sim.rules import Rules
from kubesim.store import Event, Store

FAST_TIMINGS = {
    "scheduleAfter": "10ms",
    "startAfter": "20ms",
    "readyAfter": "30ms",
    "runFor": "100ms",
    "bindAfter": "20ms",
    "restartBackoff": "30ms",
}


def fast_rules(**extra: Any) -> Rules:
    return parse_rules({"timings": dict(FAST_TIMINGS), **extra})


class StoreWaiter:
    """``await waiter.until(fn)``: fn is re-evaluated after every store change."""

    def __init__(self, store: Store) -> None:
        self._changed = asyncio.Event()
        store.add_listener(self._on_event)

    def _on_event(self, event: Event) -> None:
        self._changed.set()

    async def until(self, predicate: Callable[[], Any], limit: float = 5.0) -> Any:
        async def loop() -> Any:
            while True:
                self._changed.clear()
                result = predicate()
                if result:
                    return result
                await self._changed.wait()

        return await asyncio.wait_for(loop(), limit)


@pytest.fixture
def store() -> Store:
    s = Store()
    s.create(NAMESPACE_TYPE, {"metadata": {"name": "ns"}})
    return s


@pytest.fixture
def rules() -> Rules:
    return fast_rules()


@pytest.fixture
async def sim(store: Store, rules: Rules) -> AsyncIterator[Simulator]:
    simulator = Simulator(store, rules)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def waiter(store: Store) -> StoreWaiter:
    return StoreWaiter(store)
