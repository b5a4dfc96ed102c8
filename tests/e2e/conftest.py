"""Fixtures every end-to-end suite shares: the admin API client of the suite's ``live``
Catalyst (each suite defines ``live`` for its cluster and settings)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.live import LiveCatalyst


@pytest.fixture
async def api(live: LiveCatalyst) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"ApiToken {live.admin_token}"}
    async with httpx.AsyncClient(base_url=live.url, headers=headers, timeout=30) as client:
        yield client
