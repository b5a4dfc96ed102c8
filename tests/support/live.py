"""A real Catalyst (embedded kubesim, SQLite in a temp dir, bundled charts) served by
uvicorn on a free 127.0.0.1 port inside the test's event loop.

uvicorn is configured as ``catalyst serve`` configures it (`catalyst.app.server_config`):
with `ErrorShapeBadRequests`, the protocol that answers requests the HTTP parser refuses
in the error shape, and the header and body read timeouts for slow clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalyst.app import Catalyst, _Server, bind_socket, server_config
from catalyst.config import Settings
from catalyst.embedded import KUBESIM_RULES
from catalyst.service.tokens import TokenService
from catalyst.store.tokens import TokenRepository
from tests.support.clusters import start_environment_ids_at

START_TIMEOUT = 30.0


@dataclass
class LiveCatalyst:
    catalyst: Catalyst
    url: str
    admin_token: str
    alice_token: str
    bob_token: str


def fast_rules(directory: Path) -> Path:
    """The embedded kubesim rules with the install container shortened (faster tests)."""
    directory.mkdir(parents=True, exist_ok=True)
    rules = directory / "kubesim-rules.yaml"
    rules.write_text(KUBESIM_RULES.read_text().replace("runFor: 6s", "runFor: 2s"))
    return rules


@asynccontextmanager
async def live_catalyst(
    data_dir: Path, *, first_environment_id: int | None = None, **overrides: Any
) -> AsyncIterator[LiveCatalyst]:
    """Start it; ``overrides`` are extra `Settings` fields (e.g. short watcher timings, or
    ``kubeconfig`` for another cluster); ``first_environment_id`` is the first id its
    database hands out (on a shared cluster, so namespaces ``env-<id>`` never collide)."""
    settings: dict[str, Any] = {
        "data_dir": data_dir,
        "sse_heartbeat_seconds": 0.2,
        "kubesim_rules": str(fast_rules(data_dir)),
        **overrides,
    }
    catalyst = Catalyst(Settings(**settings))
    await catalyst.start()
    try:
        assert catalyst.database is not None
        if first_environment_id is not None:
            await start_environment_ids_at(catalyst.database, first_environment_id)
        tokens = TokenService(TokenRepository(catalyst.database))
        admin = await tokens.create("admin", admin=True)
        alice = await tokens.create("alice")
        bob = await tokens.create("bob")
        sock = bind_socket("127.0.0.1", 0)
        port = sock.getsockname()[1]
        server = _Server(server_config(catalyst.app, catalyst.settings))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            async with asyncio.timeout(START_TIMEOUT):
                while not server.started:
                    assert not task.done(), "server stopped during start"
                    await asyncio.sleep(0.01)
            yield LiveCatalyst(
                catalyst, f"http://127.0.0.1:{port}", admin.token, alice.token, bob.token
            )
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, START_TIMEOUT)
            sock.close()
    finally:
        await catalyst.stop()
