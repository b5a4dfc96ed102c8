"""The ``catalyst`` CLI and ``catalyst serve`` as real subprocesses, as Patchdemo meets them.

- `cli`: the command line of a ``catalyst`` subcommand (this interpreter).
- `create_token`: ``catalyst token create NAME --admin`` in ``environment``; the token.
- `catalyst_serve`: ``catalyst serve`` on a free port; yields its base URL, then SIGTERMs it
  (it must exit 0) and prints the end of its log. Every wait is bounded by START_TIMEOUT.
- `follow_install_log`: the install Job's log over SSE, until the stream ends.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

START_TIMEOUT = 60.0
STEP_TIMEOUT = 90.0


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "catalyst.cli", *args]


async def create_token(environment: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        *cli("token", "create", "patchdemo", "--admin"),
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    assert process.returncode == 0
    return stdout.decode().strip().splitlines()[-1]


async def read_url(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    while True:
        line = (await process.stdout.readline()).decode()
        assert line, "catalyst serve exited before printing its URL"
        if line.startswith("Catalyst API: "):
            return line.split()[2].removesuffix("/api")


@asynccontextmanager
async def catalyst_serve(environment: dict[str, str], log_path: Path) -> AsyncIterator[str]:
    """``catalyst serve`` on a free port with ``environment``; stderr to ``log_path``."""
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *cli("serve", "--port", "0"),
            env=environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
        try:
            url = await asyncio.wait_for(read_url(process), START_TIMEOUT)
            yield url
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), START_TIMEOUT) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            log_text = await asyncio.to_thread(log_path.read_text, errors="replace")
            print(log_text[-5000:])


async def follow_install_log(client: httpx.AsyncClient, env_id: int) -> list[str]:
    lines: list[str] = []
    async with client.stream(
        "GET",
        f"/api/environments/{env_id}/logs",
        params={"stream": "mediawiki/install-mediawiki"},
        timeout=httpx.Timeout(STEP_TIMEOUT, read=STEP_TIMEOUT),
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for raw in response.aiter_lines():
            if raw.startswith("data:"):
                event = json.loads(raw[len("data:") :])
                assert len(event["logs"]) == 1
                assert event["logs"][0]["timestamp"].endswith("Z")
                lines.append(event["logs"][0]["log"])
    return lines
