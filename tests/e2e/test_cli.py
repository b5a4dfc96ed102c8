"""The ``catalyst`` command's non-serving subcommands, as real subprocesses."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from catalyst.service.tokens import TokenService
from catalyst.store.database import Database, sqlite_url_for
from catalyst.store.tokens import TokenRepository

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
