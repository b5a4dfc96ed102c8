"""`kubesim serve` as a process: one ready line, a working kubeconfig, clean SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
import yaml


async def test_serve_prints_ready_line_and_stops_on_sigterm(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc.yaml"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kubesim.cli",
        "serve",
        "--port",
        "0",
        "--kubeconfig",
        str(kubeconfig),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert line.startswith("kubesim ready at http://127.0.0.1:")
        assert str(kubeconfig) in line
        url = line.split()[3]
        config = yaml.safe_load(kubeconfig.read_text())
        assert config["current-context"] == "kubesim"
        assert config["clusters"][0]["cluster"]["server"] == url
        async with aiohttp.ClientSession() as s, s.get(f"{url}/api/v1/namespaces") as resp:
            assert resp.status == 200
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
        assert await proc.stdout.read() == b""
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
