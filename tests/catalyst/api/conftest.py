from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from catalyst.api.app import create_app
from tests.support.api_fakes import FakeEnvironments, fake_services


@pytest.fixture
def environments() -> FakeEnvironments:
    return FakeEnvironments()


@pytest.fixture
async def client(environments: FakeEnvironments) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app (around fakes) in-process."""
    app = create_app(fake_services(environments, ["line one", "line two"]), max_body_bytes=4096)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
