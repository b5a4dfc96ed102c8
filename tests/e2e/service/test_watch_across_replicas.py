"""The watch stream with real processes: ``catalyst serve`` replicas on one PostgreSQL
database and one external ``kubesim serve``.

- Two replicas, a watch client on each, environments created through both and one deleted
  (the leader writes the statuses): both clients see every change exactly once, in the same
  order, with the same ids, and those are the outbox's rows.
- A client watching, the service stopped (SIGTERM) and started again on the same
  database, a change stored while it was down: the client reconnects with
  ``Last-Event-ID`` and gets exactly the outbox's changes after its last id (those made
  while it was away and after), none lost, none twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from catalyst.store.database import Database
from catalyst.store.environments import EnvironmentRepository
from tests.support.databases import ServerDatabases, empty_database, run_in_thread
from tests.support.databases import server_databases as server_databases
from tests.support.live_api import create_environment
from tests.support.processes import (
    CatalystReplicas,
    KubesimProcess,
    create_admin_token,
    kubesim_process,
)
from tests.support.sse import SseEvent, SseReader
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

SETTINGS = {
    "watcher_poll_seconds": 0.2,
    "watcher_heartbeat_seconds": 0.5,
    "sse_heartbeat_seconds": 0.5,
}
WAIT = 60.0
CHANGES = ("ADDED", "MODIFIED", "DELETED")


@pytest.fixture
def shared_database_url(server_databases: ServerDatabases) -> str:
    """This session's PostgreSQL database, emptied (schema kept) for this test."""
    url = server_databases.url("postgresql")
    run_in_thread(lambda: empty_database(url, keep_schema_at_head=True))
    return url


@pytest.fixture
async def kubesim(tmp_path: Path) -> AsyncIterator[KubesimProcess]:
    async with kubesim_process(tmp_path / "kubesim") as sim:
        yield sim


@dataclass
class Watcher:
    """A watch client reading its stream into ``events`` in a task of its own."""

    events: list[SseEvent] = field(default_factory=list)

    def changes(self) -> list[tuple[int, str, int, str]]:
        """(id, type, environment, status) of every change after SYNCED (not the list)."""
        synced = self.synced_at()
        if synced is None:
            return []
        return [
            (int(e.id), e.event, e.json()["id"], e.json()["status"])
            for e in self.events
            if e.id is not None and e.event in CHANGES and int(e.id) > synced
        ]

    def synced_at(self) -> int | None:
        return next((int(e.id or 0) for e in self.events if e.event == "SYNCED"), None)

    def saw(self, event: str, env_id: int, status: str | None = None) -> bool:
        return any(
            kind == event and env == env_id and (status is None or seen == status)
            for _, kind, env, seen in self.changes()
        )


@asynccontextmanager
async def watching(
    url: str, token: str, *, last_event_id: int | None = None
) -> AsyncIterator[Watcher]:
    headers = {"Authorization": f"ApiToken {token}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    watcher = Watcher()
    opened = asyncio.Event()

    async def read() -> None:
        async with (
            httpx.AsyncClient(base_url=url, headers=headers, timeout=WAIT) as client,
            client.stream("GET", "/api/environments?watch=1") as response,
        ):
            assert response.status_code == 200, await response.aread()
            opened.set()
            reader = SseReader(response)
            while True:
                watcher.events.append(await reader.next())

    task = asyncio.create_task(read(), name=f"watch {url}")
    try:
        async with asyncio.timeout(WAIT):
            await asyncio.wait(
                [task, asyncio.ensure_future(opened.wait())], return_when=asyncio.FIRST_COMPLETED
            )
        if task.done():
            task.result()  # raises what stopped it
        yield watcher
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def outbox_ids(database_url: str, after: int, through: int) -> list[int]:
    database = Database(database_url)
    await database.connect()
    try:
        rows = await EnvironmentRepository(database).list_changes_after(after, limit=10_000)
    finally:
        await database.close()
    return [row.id for row in rows if row.id <= through]


async def test_two_replicas_show_every_change_once_in_the_same_order(
    tmp_path: Path, shared_database_url: str, kubesim: KubesimProcess
) -> None:
    token = await create_admin_token(shared_database_url)
    replicas = CatalystReplicas(
        tmp_path / "catalyst",
        database_url=shared_database_url,
        kubeconfig=kubesim.kubeconfig,
        **SETTINGS,
    )
    async with AsyncExitStack() as stack:
        stack.push_async_callback(replicas.stop_all)
        a, b = await asyncio.gather(replicas.start("replica-a"), replicas.start("replica-b"))
        on_a = await stack.enter_async_context(watching(a.url, token))
        on_b = await stack.enter_async_context(watching(b.url, token))
        await eventually(
            lambda: on_a.synced_at() is not None and on_b.synced_at() is not None, "SYNCED"
        )
        apis = []
        for replica in (a, b):
            apis.append(
                await stack.enter_async_context(
                    httpx.AsyncClient(
                        base_url=replica.url,
                        headers={"Authorization": f"ApiToken {token}"},
                        timeout=WAIT,
                    )
                )
            )
        first = await create_environment(apis[0], "through-a")
        second = await create_environment(apis[1], "through-b")
        for env_id in (first, second):

            def running(env_id: int = env_id) -> bool:
                return on_a.saw("MODIFIED", env_id, "running") and on_b.saw(
                    "MODIFIED", env_id, "running"
                )

            await eventually(running, f"both clients seeing environment {env_id} running")
        response = await apis[1].delete(f"/api/environments/{first}")
        assert response.status_code == 202, response.text
        await eventually(
            lambda: on_a.saw("DELETED", first) and on_b.saw("DELETED", first),
            "both clients seeing the deletion",
        )
        seen_a, seen_b = on_a.changes(), on_b.changes()

    # Compared up to the last id both have (a later change may reach one client first).
    through = min(seen_a[-1][0], seen_b[-1][0])
    seen_a = [c for c in seen_a if c[0] <= through]
    seen_b = [c for c in seen_b if c[0] <= through]
    assert seen_a == seen_b
    start = max(on_a.synced_at() or 0, on_b.synced_at() or 0)
    assert [c[0] for c in seen_a] == await outbox_ids(shared_database_url, start, through)
    assert {env for _, _, env, _ in seen_a} == {first, second}


async def test_a_client_resumes_after_a_restart_with_nothing_lost_or_repeated(
    tmp_path: Path, shared_database_url: str, kubesim: KubesimProcess
) -> None:
    token = await create_admin_token(shared_database_url)
    replicas = CatalystReplicas(
        tmp_path / "catalyst",
        database_url=shared_database_url,
        kubeconfig=kubesim.kubeconfig,
        **SETTINGS,
    )
    headers = {"Authorization": f"ApiToken {token}"}
    async with AsyncExitStack() as stack:
        stack.push_async_callback(replicas.stop_all)
        service = await replicas.start("solo")
        async with (
            httpx.AsyncClient(base_url=service.url, headers=headers, timeout=WAIT) as api,
            watching(service.url, token) as before,
        ):
            await eventually(lambda: before.synced_at() is not None, "SYNCED")
            env_id = await create_environment(api, "restarted")
            await eventually(
                lambda: before.saw("MODIFIED", env_id, "running"), "the environment running"
            )
            last = before.changes()[-1][0]
        await service.stop()

        # While it is down, a change is stored (as another replica's writer would).
        database = Database(shared_database_url)
        await database.connect()
        try:
            repo = EnvironmentRepository(database)
            record = await repo.get(env_id)
            assert record is not None
            await repo.record_status_change(
                env_id,
                expected_version=record.version,
                source="watcher",
                status="failed",
                status_reason="WhileAway",
                failure_kind="runtime",
            )
        finally:
            await database.close()

        service = await replicas.start("solo")  # the same service, the same database
        async with (
            httpx.AsyncClient(base_url=service.url, headers=headers, timeout=WAIT) as api,
            watching(service.url, token, last_event_id=last) as after,
        ):
            response = await api.delete(f"/api/environments/{env_id}")
            assert response.status_code == 202, response.text
            await eventually(
                lambda: any(e.event == "DELETED" for e in after.events), "the deletion"
            )
            resumed = [
                (int(e.id or 0), e.event, e.json()["status"], e.json()["statusReason"])
                for e in after.events
            ]

    assert all(kind != "SYNCED" for _, kind, _, _ in resumed)  # no list: a resume
    ids = [i for i, _, _, _ in resumed]
    assert ids == await outbox_ids(shared_database_url, last, ids[-1])
    assert resumed[0][1:] == ("MODIFIED", "failed", "WhileAway")
    assert resumed[-1][1] == "DELETED"
