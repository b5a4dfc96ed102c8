"""``realkube serve`` as a command: one ready line, a working kubeconfig, and on SIGTERM every
component stops and no process is left behind (exit status 0)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from realkube.binaries import find_binaries

pytestmark = pytest.mark.slow

START_TIMEOUT = 240.0
STOP_TIMEOUT = 60.0


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    pending.append(child)
    return found


async def test_serve_prints_ready_and_stops_everything(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "realkube.cli", "serve",
        "--kubeconfig", str(kubeconfig), "--data-dir", str(tmp_path / "data"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)).decode()
        prefix, _, rest = line.partition("https://127.0.0.1:")
        assert prefix == "realkube ready at "
        port, _, tail = rest.partition(" ")
        assert port.isdigit()
        assert tail == f"(kubeconfig: {kubeconfig})\n"

        kubectl = await asyncio.create_subprocess_exec(
            str(find_binaries().kubectl), f"--kubeconfig={kubeconfig}", "get", "nodes",
            "-o", "name",
            stdout=asyncio.subprocess.PIPE,
            env={"HOME": str(tmp_path), "PATH": os.environ.get("PATH", "")},
        )  # fmt: skip
        out, _ = await asyncio.wait_for(kubectl.communicate(), 60)
        assert out.decode().split() == ["node/realkube-node-0"]

        children = _descendants(process.pid)
        assert len(children) >= 5  # etcd, apiserver, controller manager, scheduler, kwok
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), STOP_TIMEOUT) == 0
        assert [pid for pid in children if os.path.exists(f"/proc/{pid}")] == []  # noqa: ASYNC240
        assert await asyncio.wait_for(process.stdout.read(), 5) == b""  # one line only
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
