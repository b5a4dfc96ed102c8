"""The ``catalyst`` command's non-serving subcommands, as real subprocesses."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest

from catalyst.service.tokens import CACHE_SECONDS, TokenService
from catalyst.store.database import Database, sqlite_url_for
from catalyst.store.tokens import TokenRepository
from tests.support.live import live_catalyst

pytestmark = pytest.mark.slow

TIMEOUT = 60.0


async def run(data_dir: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALYST_")}
    env["CATALYST_DATA_DIR"] = str(data_dir)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "catalyst.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_token_create_prints_the_token_on_the_last_line(tmp_path: Path) -> None:
    code, out, _ = await run(tmp_path, "token", "create", "ci", "--admin")
    assert code == 0
    token = out.strip().splitlines()[-1]
    assert len(token) >= 40
    assert " " not in token

    database = Database(sqlite_url_for(tmp_path))
    await database.connect()
    try:
        caller = await TokenService(TokenRepository(database)).authenticate(token)
    finally:
        await database.close()
    assert caller is not None
    assert (caller.name, caller.admin) == ("ci", True)

    code, _, err = await run(tmp_path, "token", "create", "ci")
    assert code == 1
    assert "already exists" in err


async def test_migrate_creates_the_database(tmp_path: Path) -> None:
    code, out, _ = await run(tmp_path, "migrate")
    assert code == 0
    assert "latest schema" in out
    assert (tmp_path / "catalyst.db").exists()


async def test_token_list_and_revoke(tmp_path: Path) -> None:
    for name in ("ci", "alice"):
        code, _, _ = await run(tmp_path, "token", "create", name, *(["--admin"] * (name == "ci")))
        assert code == 0
    code, out, _ = await run(tmp_path, "token", "list")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split() == ["ID", "NAME", "ADMIN", "CREATED"]
    assert [line.split()[:3] for line in lines[1:]] == [["1", "ci", "yes"], ["2", "alice", "no"]]

    code, out, _ = await run(tmp_path, "token", "revoke", "alice")
    assert code == 0
    assert "Revoked token 'alice' (id 2)" in out
    assert "5 s" in out  # says how long other replicas may still accept it
    code, out, _ = await run(tmp_path, "token", "revoke", "1")  # by id
    assert code == 0
    assert "Revoked token 'ci' (id 1)" in out
    code, out, _ = await run(tmp_path, "token", "list")
    assert out.strip().splitlines()[1:] == []

    code, _, err = await run(tmp_path, "token", "revoke", "alice")
    assert code == 1
    assert "no token named or numbered 'alice'" in err


async def test_a_revoked_token_is_refused_by_a_running_service_within_the_cache_time(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    async with (
        live_catalyst(data_dir) as live,
        httpx.AsyncClient(base_url=live.url, timeout=TIMEOUT) as client,
    ):
        headers = {"Authorization": f"ApiToken {live.alice_token}"}
        assert (await client.get("/api/environments", headers=headers)).status_code == 200
        code, _, _ = await run(data_dir, "token", "revoke", "alice")
        assert code == 0
        # The documented recognition cache (5 s from the request above), with room to spare.
        async with asyncio.timeout(CACHE_SECONDS + 5.0):
            while True:
                response = await client.get("/api/environments", headers=headers)
                if response.status_code == 401:
                    break
                await asyncio.sleep(0.1)
