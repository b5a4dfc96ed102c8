"""``kubesim serve`` as a child process, for benchmarks and tests that need the cluster in a
process of its own (so it survives a killed Catalyst, or does not share a core's event loop).

:func:`kubesim_process` starts it, waits for its one ready line (bounded), keeps reading its
stdout so it never blocks on a full pipe, and at exit stops it with SIGTERM, then SIGKILL if
it does not end in time. A child that exits before it is ready raises with what it printed.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

READY_PREFIX = "kubesim ready at "


@dataclass
class KubesimProcess:
    process: asyncio.subprocess.Process
    url: str
    kubeconfig: Path

    @property
    def pid(self) -> int:
        return self.process.pid


@asynccontextmanager
async def kubesim_process(
    kubeconfig: Path,
    *,
    rules: Path | None = None,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    stderr: IO[Any] | int | None = None,
    start_timeout: float = 30.0,
    stop_timeout: float = 30.0,
) -> AsyncIterator[KubesimProcess]:
    """Run ``kubesim serve --port 0`` writing ``kubeconfig``; yields it once it is ready."""
    command = [sys.executable, "-m", "kubesim.cli", "serve", "--port", "0"]
    command += ["--kubeconfig", str(kubeconfig), *(["--rules", str(rules)] if rules else [])]
    process = await asyncio.create_subprocess_exec(
        *command,
        *args,
        env=dict(env) if env is not None else None,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
    )
    drain: asyncio.Task[None] | None = None
    try:
        url = await asyncio.wait_for(_ready_url(process), start_timeout)
        assert process.stdout is not None
        drain = asyncio.create_task(_drain(process.stdout), name="kubesim stdout")
        yield KubesimProcess(process, url, kubeconfig)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), stop_timeout)
            except TimeoutError:
                process.kill()
                await process.wait()
        if drain is not None:
            drain.cancel()


async def _ready_url(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    seen: list[str] = []
    while True:
        line = (await process.stdout.readline()).decode(errors="replace")
        if not line:
            raise RuntimeError(f"kubesim exited before it was ready: {''.join(seen)[-2000:]!r}")
        if line.startswith(READY_PREFIX):
            return line[len(READY_PREFIX) :].split()[0]
        seen.append(line)


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass
