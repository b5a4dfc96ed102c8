from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from catalyst.store.database import Database
from tests.support.service_harness import Harness, build_harness


@pytest.fixture
async def harness(database: Database) -> AsyncIterator[Harness]:
    h = await build_harness(database)
    await h.runner.start()
    try:
        yield h
    finally:
        await h.runner.stop()
