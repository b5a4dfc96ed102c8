"""Webhooks with real processes: ``catalyst serve`` replicas (one SQLite file, an external
``kubesim serve``) and real receivers on 127.0.0.1.

One environment's life is delivered to two webhooks. One receiver answers 500 for a while,
then 200: it gets every change once it recovers, in the order of the history, none twice
after success, each signature verified with the Standard Webhooks reference library. The
other hangs: each attempt is cut off by the timeout (and recorded so), without holding up
the first webhook; once it answers, it catches up in order too. The leader is then
SIGKILLed and another replica takes over: the changes after that arrive, and nothing
delivered before is sent again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst.store.database import sqlite_url_for
from tests.support.live_api import create_environment, wait_for_status
from tests.support.processes import CatalystReplicas, create_admin_token, kubesim_process
from tests.support.waiting import eventually
from tests.support.webhook_receiver import Received, WebhookReceiver, webhook_receiver

WAIT = 60.0
SETTINGS: dict[str, object] = {
    "watcher_poll_seconds": 0.2,
    "watcher_heartbeat_seconds": 0.5,
    "lease_duration": 3.0,
    "lease_renew_deadline": 2.0,
    "lease_retry_period": 0.3,
    "webhook_allowed_networks": "127.0.0.0/8",
    "webhook_timeout_seconds": 1.0,
    "webhook_first_retry_seconds": 0.2,
    "webhook_max_retry_seconds": 0.5,
    "webhook_refresh_seconds": 0.2,
}


async def subscribe(api: httpx.AsyncClient, receiver: WebhookReceiver) -> int:
    response = await api.post(
        "/api/webhooks", json={"url": receiver.url, "events": ["environment.status"]}
    )
    assert response.status_code == 201, response.text
    receiver.secret = response.json()["secret"]
    webhook_id: int = response.json()["id"]
    return webhook_id


async def history(api: httpx.AsyncClient, env_id: int) -> list[dict[str, Any]]:
    response = await api.get(f"/api/environments/{env_id}/history", params={"limit": 500})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def changes(received: list[Received]) -> list[tuple[int, str | None, str]]:
    """(outbox position, previous status, status) of each message."""
    out = []
    for message in received:
        payload = message.json()
        position = int(message.message_id.rsplit("_", 1)[1])
        data = payload["data"]
        out.append((position, data["previousStatus"], data["environment"]["status"]))
    return out


def expected(items: list[dict[str, Any]]) -> list[tuple[int, str | None, str]]:
    return [(item["id"], item["from"], item["to"]) for item in items]


async def all_delivered(
    api: httpx.AsyncClient, env_id: int, receiver: WebhookReceiver, what: str
) -> list[dict[str, Any]]:
    """Wait until ``receiver`` got every change of the history (the last one included)."""
    items: list[dict[str, Any]] = []

    async def caught_up() -> bool:
        items[:] = await history(api, env_id)
        return changes(receiver.delivered())[-len(items) :] == expected(items)

    await eventually(
        caught_up, what, within=WAIT, last=lambda: (changes(receiver.delivered()), items)
    )
    return items


async def settled(api: httpx.AsyncClient, webhook_id: int, position: int) -> None:
    """Wait until the webhook's delivered position (committed) reaches ``position``."""

    async def reached() -> bool:
        response = await api.get(f"/api/webhooks/{webhook_id}")
        return bool(response.json()["deliveredPosition"] >= position)

    await eventually(reached, f"webhook {webhook_id} to record position {position}", within=WAIT)


async def ends_deleted(receiver: WebhookReceiver) -> None:
    def deleted() -> bool:
        delivered = changes(receiver.delivered())
        return bool(delivered) and delivered[-1][2] == "deleted"

    await eventually(
        deleted,
        "the deletion after the takeover",
        within=WAIT,
        last=lambda: changes(receiver.delivered()),
    )


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[tuple[CatalystReplicas, str]]:
    database_url = sqlite_url_for(tmp_path)
    token = await create_admin_token(database_url)
    async with kubesim_process(tmp_path / "kubesim") as sim:
        running = CatalystReplicas(
            tmp_path / "catalyst",
            database_url=database_url,
            kubeconfig=sim.kubeconfig,
            **SETTINGS,
        )
        try:
            yield running, token
        finally:
            await running.stop_all()


async def test_every_change_arrives_once_in_order_across_failures_and_a_new_leader(
    replicas: tuple[CatalystReplicas, str],
) -> None:
    processes, token = replicas
    headers = {"Authorization": f"ApiToken {token}"}
    async with AsyncExitStack() as stack:
        flaky = await stack.enter_async_context(webhook_receiver(status=500))
        hanging = await stack.enter_async_context(webhook_receiver())
        hanging.hang = True
        first = await processes.start("replica-a")
        api = await stack.enter_async_context(
            httpx.AsyncClient(base_url=first.url, headers=headers, timeout=10)
        )
        flaky_id = await subscribe(api, flaky)
        hanging_id = await subscribe(api, hanging)

        env_id = await create_environment(api, "hooked")
        await wait_for_status(api, env_id, "running")
        await eventually(
            lambda: len(flaky.received) >= 3 and len(hanging.received) >= 2,
            "failed attempts at both receivers",
            within=WAIT,
        )
        assert flaky.delivered() == []
        # The hanging receiver is cut off by the timeout, each attempt recorded so.
        attempts = (await api.get(f"/api/webhooks/{hanging_id}/deliveries")).json()
        assert attempts, "no attempt recorded"
        assert {a["error"] for a in attempts} == {"no answer within 1s"}
        assert all(900 <= a["latencyMs"] < 5000 for a in attempts), attempts
        failing = (await api.get(f"/api/webhooks/{flaky_id}")).json()
        assert failing["failedAttempts"] >= 1
        assert failing["failingSince"] is not None
        assert failing["disabled"] is False

        flaky.status = 200
        items = await all_delivered(api, env_id, flaky, "the flaky receiver to catch up")
        assert [item["to"] for item in items][:: len(items) - 1] == ["starting", "running"]
        assert changes(flaky.delivered()) == expected(items), "not every change, or not in order"
        hanging.hang = False
        await all_delivered(api, env_id, hanging, "the hanging receiver to catch up")
        assert changes(hanging.delivered()) == expected(items)

        # Settle: both webhooks have recorded the last change before the leader dies.
        for webhook_id in (flaky_id, hanging_id):
            await settled(api, webhook_id, items[-1]["id"])
        await first.kill()
        second = await processes.start("replica-b")
        api_b = await stack.enter_async_context(
            httpx.AsyncClient(base_url=second.url, headers=headers, timeout=10)
        )
        deleted = await api_b.delete(f"/api/environments/{env_id}")
        assert deleted.status_code == 202, deleted.text
        # Its history is gone with it (404): the final "deleted" message ends the life.
        for receiver in (flaky, hanging):
            await ends_deleted(receiver)

    life = changes(flaky.delivered())
    assert life[: len(items)] == expected(items)
    assert [position for position, _, _ in life] == sorted({p for p, _, _ in life}), life
    assert [status for _, status, _ in life[1:]] == [status for _, _, status in life[:-1]], life
    assert [status for _, _, status in life[len(items) :]][::-1][:2] == ["deleted", "deleting"]
    assert changes(hanging.delivered()) == life
    for receiver in (flaky, hanging):
        ids = [message.message_id for message in receiver.delivered()]
        assert len(ids) == len(set(ids)), f"delivered twice after success: {ids}"
        assert all(message.verified for message in receiver.received), "a bad signature"
    environment = flaky.delivered()[0].json()["data"]["environment"]
    assert environment["id"] == env_id
    assert environment["name"] == "hooked"
    assert set(environment) >= {"id", "status", "statusReason", "values", "createdAt"}
    assert environment["values"]["mediawikiCore"]["password"] == "***"
