"""Fixtures: a real Store with namespace ``ns``, fast rules, a started Simulator, and a
waiter that re-checks a condition on every store event (no fixed sleeps)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kubesim.resources import NAMESPACE_TYPE
from kubesim.sim import Simulator
from kubesim.sim.rules import Rules
from kubesim.store import Store
from tests.support.sim_objects import fast_rules
from tests.support.waiting import StoreWaiter


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
