"""One control-plane program run as a child process that cannot outlive realkube.

:class:`Component` starts a program in a session (process group) of its own, with stdout
and stderr in a log file, and with the Linux parent-death signal set to SIGKILL: if the
realkube process dies without stopping it (even by SIGKILL), the kernel kills it.
:meth:`Component.stop` sends SIGTERM to its group, waits up to ``grace`` seconds, then
sends SIGKILL and reaps it, so no process is left behind. :meth:`Component.exited` is
awaitable to notice a component that dies on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import signal
from collections.abc import Sequence
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class ComponentFailed(RuntimeError):
    """A component could not start or stopped on its own; the message ends with its log."""


class Component:
    def __init__(self, name: str, argv: Sequence[str], log_path: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self._stopping = False

    async def start(self) -> None:
        self._stopping = False
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def exited(self) -> int:
        assert self.process is not None
        return await self.process.wait()

    def log_tail(self, limit: int = 3000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return ""
        return data[-limit:].decode(errors="replace")

    def failure(self, what: str) -> ComponentFailed:
        return ComponentFailed(f"{self.name} {what}; end of {self.log_path}:\n{self.log_tail()}")

    def send_signal(self, signum: signal.Signals) -> None:
        """Send ``signum`` to the component's process group (SIGSTOP freezes it, SIGCONT
        thaws it)."""
        if self.process is None or self.process.returncode is not None:
            raise self.failure("is not running")
        os.killpg(self.process.pid, signum)

    async def stop(self, grace: float = 10.0) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        self._stopping = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        # Anything else left in its group (none expected) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
