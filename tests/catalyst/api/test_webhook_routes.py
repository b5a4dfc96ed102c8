"""``/api/webhooks`` through the HTTP layer with the real use cases on every database: create
(201, the secret shown once), list, read, delete, recent deliveries; another token's webhook
is 404 like an unknown id; refused URLs and unknown events are 422 in the error shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest

from catalyst.api.app import create_app
from catalyst.api.dependencies import ApiServices
from catalyst.service.tokens import TokenService
from catalyst.service.webhook_urls import WebhookUrlPolicy
from catalyst.service.webhooks import WebhookService
from catalyst.store.database import Database
from catalyst.store.tokens import TokenRepository
from catalyst.store.webhooks import WebhookRepository, WebhookState

ERROR_KEYS = {"statusCode", "statusText", "details"}
HOOK = "http://127.0.0.1:9/hook"  # allowed below: the suite has no public network


@pytest.fixture
async def client(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    tokens = TokenRepository(database)
    for name, admin in (("admin", True), ("alice", False), ("bob", False)):
        await tokens.create(name=name, token=f"{name}-token", admin=admin)
    services = ApiServices(
        tokens=TokenService(tokens),
        environments=cast(Any, None),
        charts=cast(Any, None),
        logs=cast(Any, None),
        history=cast(Any, None),
        feed=cast(Any, None),
        webhooks=WebhookService(
            webhooks=WebhookRepository(database),
            policy=WebhookUrlPolicy.from_setting("127.0.0.0/8"),
            max_per_token=3,
        ),
    )
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"ApiToken {name}-token"}


async def create(client: httpx.AsyncClient, who: str, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/webhooks", json={"url": HOOK, **body}, headers=auth(who))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_create_list_read_delete(client: httpx.AsyncClient) -> None:
    created = await create(client, "alice", events=["environment.status"])
    assert created["secret"].startswith("whsec_")
    assert created == {
        "id": created["id"],
        "url": HOOK,
        "events": ["environment.status"],
        "createdAt": created["createdAt"],
        "disabled": False,
        "disabledAt": None,
        "disabledReason": None,
        "failingSince": None,
        "nextAttemptAt": None,
        "failedAttempts": 0,
        "deliveredPosition": 0,
        "secret": created["secret"],
    }
    assert created["createdAt"].endswith("Z")
    shown = {k: v for k, v in created.items() if k != "secret"}
    bobs = await create(client, "bob")  # events default to environment.status
    assert bobs["events"] == ["environment.status"]

    listed = await client.get("/api/webhooks", headers=auth("alice"))
    assert listed.status_code == 200
    assert listed.json() == [shown], "the secret is shown once, at creation"
    everything = await client.get("/api/webhooks", headers=auth("admin"))
    assert [h["id"] for h in everything.json()] == [created["id"], bobs["id"]]
    one = await client.get(f"/api/webhooks/{created['id']}", headers=auth("alice"))
    assert one.json() == shown
    deliveries = await client.get(
        f"/api/webhooks/{created['id']}/deliveries", headers=auth("alice")
    )
    assert (deliveries.status_code, deliveries.json()) == (200, [])

    deleted = await client.delete(f"/api/webhooks/{created['id']}", headers=auth("alice"))
    assert (deleted.status_code, deleted.content) == (204, b"")
    gone = await client.get(f"/api/webhooks/{created['id']}", headers=auth("alice"))
    assert gone.status_code == 404
    again = await client.delete(f"/api/webhooks/{created['id']}", headers=auth("alice"))
    assert again.status_code == 404
    # The admin may delete anybody's.
    assert (
        await client.delete(f"/api/webhooks/{bobs['id']}", headers=auth("admin"))
    ).status_code == 204


async def test_another_tokens_webhook_is_not_found(client: httpx.AsyncClient) -> None:
    alices = await create(client, "alice")
    for method, path in (
        ("GET", f"/api/webhooks/{alices['id']}"),
        ("GET", f"/api/webhooks/{alices['id']}/deliveries"),
        ("DELETE", f"/api/webhooks/{alices['id']}"),
        ("GET", "/api/webhooks/999999"),
        ("GET", "/api/webhooks/99999999999"),
    ):
        response = await client.request(method, path, headers=auth("bob"))
        assert response.status_code == 404, (method, path, response.text)
        assert set(response.json()) == ERROR_KEYS
        assert "webhook" in response.json()["details"][0]
    assert (await client.get("/api/webhooks", headers=auth("bob"))).json() == []
    assert (
        await client.get(f"/api/webhooks/{alices['id']}", headers=auth("admin"))
    ).status_code == 200


async def test_deliveries_show_the_recent_attempts(
    client: httpx.AsyncClient, database: Database
) -> None:
    created = await create(client, "alice")
    at = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    await WebhookRepository(database).record_attempt(
        created["id"],
        expected_position=0,
        event_position=5,
        message_id=f"msg_{created['id']}_5",
        attempted_at=at,
        status_code=None,
        latency_ms=10000,
        error="no answer within 10s",
        succeeded=False,
        state=WebhookState(0, 1, at, at),
    )
    response = await client.get(f"/api/webhooks/{created['id']}/deliveries", headers=auth("alice"))
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": response.json()[0]["id"],
            "messageId": f"msg_{created['id']}_5",
            "position": 5,
            "attemptedAt": "2026-12-03T12:00:00Z",
            "statusCode": None,
            "latencyMs": 10000,
            "succeeded": False,
            "error": "no answer within 10s",
        }
    ]
    shown = (await client.get(f"/api/webhooks/{created['id']}", headers=auth("alice"))).json()
    assert (shown["failedAttempts"], shown["failingSince"]) == (1, "2026-12-03T12:00:00Z")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"url": "http://10.0.0.1/hook"}, "internal address"),
        ({"url": "http://169.254.169.254/latest/meta-data/"}, "internal address"),
        ({"url": "http://[::1]:8080/"}, "internal address"),
        ({"url": "http://[::ffff:192.168.1.1]:8080/"}, "internal address"),
        ({"url": "ftp://example.org/"}, "scheme"),
        ({"url": "https://user:pw@127.0.0.1/"}, "user name or password"),
        ({"url": "https://no-such-host.invalid/"}, "cannot be resolved"),
        ({"url": HOOK, "events": ["environment.deleted"]}, "unknown event type"),
        ({"url": HOOK, "events": []}, "at least one event type"),
        ({"url": ""}, "url"),
        ({"events": ["environment.status"]}, "url"),
        ({"url": 5}, "url"),
    ],
)
async def test_refused_webhooks_are_422_in_the_error_shape(
    client: httpx.AsyncClient, body: dict[str, Any], detail: str
) -> None:
    response = await client.post("/api/webhooks", json=body, headers=auth("alice"))
    assert response.status_code == 422, response.text
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert any(detail in d for d in error["details"]), error
    assert (await client.get("/api/webhooks", headers=auth("alice"))).json() == []


async def test_a_token_has_a_bounded_number_of_webhooks(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await create(client, "alice")
    refused = await client.post("/api/webhooks", json={"url": HOOK}, headers=auth("alice"))
    assert refused.status_code == 422
    assert "delete one first" in refused.json()["details"][0]
    await create(client, "bob")


async def test_without_a_token_it_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/webhooks")).status_code == 401
    response = await client.post("/api/webhooks", json={"url": HOOK})
    assert response.status_code == 401
    assert set(response.json()) == ERROR_KEYS
