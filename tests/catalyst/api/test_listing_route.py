"""``GET /api/environments`` through the HTTP layer with the real use cases and a real
database: the cached body is the presenter's JSON, per caller, and follows every write."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from catalyst.api.app import create_app
from catalyst.api.presenters import environment_out
from catalyst.store.database import Database
from tests.support.patchdemo import LISTING_VALUES
from tests.support.service_harness import Harness, build_harness, real_api_services


@pytest.fixture
async def harness(database: Database) -> AsyncIterator[Harness]:
    h = await build_harness(database)
    await h.runner.start()
    try:
        yield h
    finally:
        await h.runner.stop()


@pytest.fixture
async def client(database: Database, harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    services = real_api_services(database, harness)
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def auth(name: str) -> dict[str, str]:
    # build_harness stores tokens "<name>-token" for "admin" and "alice".
    return {"Authorization": f"ApiToken {name}-token"}


async def test_the_listing_is_the_presenters_json_and_follows_writes(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    ours = await harness.environments.create(
        caller=harness.alice, name="wiki-1", chart_name="mediawiki", values=LISTING_VALUES
    )
    theirs = await harness.environments.create(
        caller=harness.admin, name="wiki-2", chart_name="mediawiki", values={}
    )
    await harness.settle()

    response = await client.get("/api/environments?latestStatus=1", headers=auth("admin"))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    expected = [environment_out(r) for r in await harness.repo.list_live()]
    assert response.json() == expected
    assert [e["id"] for e in expected] == [ours.id, theirs.id]
    assert "patchdemo1" not in response.text

    alices = await client.get("/api/environments", headers=auth("alice"))
    assert [e["id"] for e in alices.json()] == [ours.id]

    deleted = await client.delete(f"/api/environments/{theirs.id}", headers=auth("admin"))
    assert deleted.status_code == 202
    await harness.settle()
    after = (await client.get("/api/environments", headers=auth("admin"))).json()
    assert after == [environment_out(r) for r in await harness.repo.list_live()]
    assert theirs.id not in [e["id"] for e in after]
