"""Running the real ``kubectl`` binary against kubesim, with a bound on every call.

``Kubectl.run`` waits for a command to finish and returns stdout and stderr;
``Kubectl.stream`` starts a long-running one (``get -w``, ``logs -f``) whose
output a test reads line by line with its own deadline. Each command gets
``--kubeconfig`` and ``--request-timeout`` explicitly, and HOME and the
discovery cache point into the test's temporary directory so no state leaks
between tests or from the developer's ``~/.kube``. A process that outlives its
deadline is killed and reaped, never left behind.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
REQUEST_TIMEOUT = "20s"


@dataclass(frozen=True, slots=True)
class Result:
    code: int
    out: str
    err: str


class KubectlStream:
    """Output of a running kubectl, read with bounded waits."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    async def readline(self, within: float) -> str | None:
        """The next stdout line, or None at end of output."""
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), within)
        if not raw:
            return None
        line = raw.decode().rstrip("\n")
        self.lines.append(line)
        return line

    async def until(self, needle: str, within: float) -> str:
        """Read lines until one contains ``needle``; fail after ``within`` seconds."""

        async def scan() -> str:
            while True:
                line = await self.readline(within)
                if line is None:
                    raise AssertionError(f"output ended before {needle!r}: {self.lines}")
                if needle in line:
                    return line

        try:
            return await asyncio.wait_for(scan(), within)
        except TimeoutError:
            raise AssertionError(
                f"no line with {needle!r} within {within}s: {self.lines}"
            ) from None

    async def wait_exit(self, within: float) -> int:
        return await asyncio.wait_for(self.proc.wait(), within)

    async def stderr(self) -> str:
        """Everything kubectl wrote to stderr, once it has exited ("" while it runs)."""
        assert self.proc.stderr is not None
        if self.proc.returncode is None:
            return ""
        return (await self.proc.stderr.read()).decode()


class Kubectl:
    """The kubectl binary bound to one kubeconfig, with an isolated HOME and cache."""

    def __init__(self, kubeconfig: Path, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.kubeconfig = kubeconfig
        self.home = home
        self.env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}

    def _argv(self, args: tuple[str, ...]) -> list[str]:
        return [
            KUBECTL,
            f"--kubeconfig={self.kubeconfig}",
            f"--request-timeout={REQUEST_TIMEOUT}",
            f"--cache-dir={self.home / 'cache'}",
            *args,
        ]

    async def run(self, *args: str, stdin: str | None = None, deadline: float = 30) -> Result:
        proc = await asyncio.create_subprocess_exec(
            *self._argv(args),
            env=self.env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(None if stdin is None else stdin.encode()), deadline
            )
        finally:
            await _reap(proc)
        assert proc.returncode is not None
        return Result(proc.returncode, out.decode(), err.decode())

    async def succeed(self, *args: str, stdin: str | None = None, deadline: float = 30) -> Result:
        """Run and insist on exit status 0 (stderr may carry notices)."""
        result = await self.run(*args, stdin=stdin, deadline=deadline)
        assert result.code == 0, f"kubectl {' '.join(args)} -> {result.code}: {result.err}"
        return result

    async def ok(self, *args: str, stdin: str | None = None, deadline: float = 30) -> str:
        """Run and insist on exit status 0 and a clean stderr; return stdout."""
        result = await self.succeed(*args, stdin=stdin, deadline=deadline)
        assert result.err == "", f"kubectl {' '.join(args)} wrote to stderr: {result.err}"
        return result.out

    async def apply(self, manifest: str) -> str:
        return await self.ok("apply", "-f", "-", stdin=manifest)

    @asynccontextmanager
    async def stream(self, *args: str) -> AsyncIterator[KubectlStream]:
        proc = await asyncio.create_subprocess_exec(
            *self._argv(args),
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            yield KubectlStream(proc)
        finally:
            await _reap(proc)


async def _reap(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
    # Bounded even if the child ignores SIGKILL's aftermath (it cannot, but never hang a test).
    await asyncio.wait_for(proc.wait(), 10)
