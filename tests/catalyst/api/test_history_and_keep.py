"""``GET /api/environments/{id}/history`` and ``POST /api/environments/{id}/keep`` through
the HTTP layer with the real use cases on every database: the history pages, keep removes or
moves a pending expiry (never earlier) with a history row of its own, other tokens get 404,
and bad input gets the error shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, cast

import httpx
import pytest

from catalyst.api.app import create_app
from catalyst.store.database import Database
from catalyst.store.records import EnvironmentRecord
from catalyst.timestamps import rfc3339, utc_now
from tests.support.patchdemo import LISTING_VALUES
from tests.support.service_harness import Harness, build_harness, real_api_services

EXPIRY = timedelta(days=3)


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


async def failed_at_creation(harness: Harness) -> EnvironmentRecord:
    """An admin's environment that failed during creation: its expiry is pending."""
    record = await harness.environments.create(
        caller=harness.admin, name="broken", chart_name="mediawiki", values=LISTING_VALUES
    )
    await harness.settle()
    current = await harness.repo.get(record.id)
    assert current is not None
    now = utc_now()
    return await harness.repo.record_status_change(
        record.id,
        expected_version=current.version,
        source="watcher",
        status="failed",
        status_reason="ImagePullBackOff",
        status_message="pod broken-0: image cannot be pulled",
        failure_kind="creation",
        failed_at=now,
        expires_at=now + EXPIRY,
    )


async def history(client: httpx.AsyncClient, env_id: int, **params: Any) -> dict[str, Any]:
    response = await client.get(
        f"/api/environments/{env_id}/history", params=params, headers=auth("admin")
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_history_lists_changes_oldest_first_in_pages(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    record = await failed_at_creation(harness)
    everything = await history(client, record.id)
    items = everything["items"]
    assert everything["next"] is None
    assert items[0]["from"] is None
    assert items[0]["to"] == "starting"
    assert items[0]["source"] == "api"
    assert items[-1] == {
        "id": items[-1]["id"],
        "at": items[-1]["at"],
        "from": "starting",
        "to": "failed",
        "reason": "ImagePullBackOff",
        "message": "pod broken-0: image cannot be pulled",
        "failureKind": "creation",
        "expiresAt": rfc3339(cast(Any, record.expires_at)),
        "source": "watcher",
    }
    assert [i["id"] for i in items] == sorted(i["id"] for i in items)

    paged: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 1}
    while True:
        page = await history(client, record.id, **params)
        assert len(page["items"]) <= 1
        paged.extend(page["items"])
        if page["next"] is None:
            break
        params = {"limit": 1, "after": page["next"]}
    assert paged == items


async def test_keep_removes_the_expiry_once_and_says_so_in_the_history(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    record = await failed_at_creation(harness)
    response = await client.post(f"/api/environments/{record.id}/keep", headers=auth("admin"))
    assert response.status_code == 200, response.text
    kept = response.json()
    assert (kept["status"], kept["failureKind"], kept["expiresAt"]) == ("failed", "creation", None)
    assert kept["statusReason"] == "ImagePullBackOff", "the status itself is unchanged"

    rows = (await history(client, record.id))["items"]
    last = rows[-1]
    assert (last["from"], last["to"], last["reason"], last["source"]) == (
        "failed",
        "failed",
        "ExpiryRemoved",
        "api",
    )
    assert "'admin'" in last["message"]
    assert last["expiresAt"] is None
    # The reaper will never see it.
    assert record.id not in [
        r.id for r in await harness.repo.list_reapable(now=utc_now() + 2 * EXPIRY)
    ]

    again = await client.post(f"/api/environments/{record.id}/keep", headers=auth("admin"))
    assert again.status_code == 200, again.text
    assert len((await history(client, record.id))["items"]) == len(rows), "kept already"


async def test_keep_until_moves_the_expiry_later_never_earlier(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    record = await failed_at_creation(harness)
    assert record.expires_at is not None
    path = f"/api/environments/{record.id}/keep"

    earlier = rfc3339(record.expires_at - timedelta(hours=1))
    refused = await client.post(path, json={"until": earlier}, headers=auth("admin"))
    assert refused.status_code == 422, refused.text
    assert any("until" in detail for detail in refused.json()["details"]), refused.text

    naive = await client.post(path, json={"until": "2030-01-01T00:00:00"}, headers=auth("admin"))
    assert naive.status_code == 422, naive.text

    later = record.expires_at + timedelta(days=7)
    moved = await client.post(path, json={"until": rfc3339(later)}, headers=auth("admin"))
    assert moved.status_code == 200, moved.text
    assert moved.json()["expiresAt"] == rfc3339(later)
    assert (await history(client, record.id))["items"][-1]["reason"] == "ExpiryExtended"

    removed = await client.post(path, headers=auth("admin"))
    assert removed.json()["expiresAt"] is None
    nothing_to_move = await client.post(path, json={"until": rfc3339(later)}, headers=auth("admin"))
    assert nothing_to_move.status_code == 409, nothing_to_move.text


async def test_other_tokens_and_bad_input_get_the_error_shape(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    record = await failed_at_creation(harness)  # the admin's
    for method, path in (
        ("GET", f"/api/environments/{record.id}/history"),
        ("POST", f"/api/environments/{record.id}/keep"),
        ("GET", "/api/environments/999999/history"),
    ):
        response = await client.request(method, path, headers=auth("alice"))
        assert response.status_code == 404, (path, response.text)
        assert response.json()["statusCode"] == 404

    for params in ({"limit": 0}, {"limit": 100000}, {"after": -1}, {"limit": "many"}):
        response = await client.get(
            f"/api/environments/{record.id}/history", params=params, headers=auth("admin")
        )
        assert response.status_code == 422, (params, response.text)
    text_body = await client.post(
        f"/api/environments/{record.id}/keep",
        content=b"until=tomorrow",
        headers={**auth("admin"), "Content-Type": "text/plain"},
    )
    assert text_body.status_code == 415, text_body.text
    # Nothing of that changed the environment.
    stored = await harness.repo.get(record.id)
    assert stored is not None
    assert stored.expires_at == record.expires_at
