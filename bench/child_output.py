"""Reading a benchmark's child process (``catalyst serve``, a cluster): wait for the line
that says it is ready, then keep its output drained so it never blocks on a full pipe."""

from __future__ import annotations

import asyncio


async def first_line(process: asyncio.subprocess.Process, prefix: str) -> str:
    """The first line of the child's standard output that starts with ``prefix``."""
    assert process.stdout is not None
    while True:
        line = (await process.stdout.readline()).decode()
        if not line:
            raise RuntimeError(f"child exited before printing {prefix!r}")
        if line.startswith(prefix):
            return line.strip()


async def drain(stream: asyncio.StreamReader | None) -> None:
    """Read ``stream`` to its end, discarding it."""
    if stream is not None:
        while await stream.readline():
            pass
