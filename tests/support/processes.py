"""Real processes for fault tests: an external ``kubesim serve`` and ``catalyst serve``
replicas pointing at it, sharing one database.

Guarantees: every process is started on a free 127.0.0.1 port (port 0, the URL is read from
its first line of output), its stderr goes to a log file in the test's directory, and the
context managers always stop what they started (SIGTERM, then SIGKILL after a bound).
A test may SIGKILL a Catalyst replica itself (:meth:`CatalystProcess.kill`) to simulate a
crash; stopping an already dead process is a no-op. When a start fails, the tail of the
process's log is in the assertion message, so a failing run explains itself.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from catalyst.embedded import KUBESIM_RULES
from catalyst.service.tokens import TokenService
from catalyst.store.database import Database
from catalyst.store.tokens import TokenRepository

START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


@dataclass
class ManagedProcess:
    """A child process with its log file; ``url`` is where it serves."""

    process: asyncio.subprocess.Process
    url: str
    log_path: Path

    def log_tail(self, size: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-size:]

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs (the Lease is not released, nothing is flushed)."""
        if self.alive:
            self.process.kill()
        await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)

    async def stop(self) -> None:
        """SIGTERM and wait; SIGKILL if it does not stop within the bound."""
        if not self.alive:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            await self.kill()


@dataclass
class KubesimProcess(ManagedProcess):
    kubeconfig: Path = field(default=Path())


@dataclass
class CatalystProcess(ManagedProcess):
    instance_id: str = ""


def fast_rules_file(directory: Path) -> Path:
    """The embedded rules with the install container shortened, so creates finish sooner."""
    directory.mkdir(parents=True, exist_ok=True)
    rules = directory / "kubesim-rules.yaml"
    rules.write_text(KUBESIM_RULES.read_text().replace("runFor: 6s", "runFor: 2s"))
    return rules


def clean_environment() -> dict[str, str]:
    """This process's environment without any CATALYST_ setting leaking into children."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CATALYST_")}


async def _first_line_starting(
    process: asyncio.subprocess.Process, prefix: str, log_path: Path
) -> str:
    assert process.stdout is not None
    while True:
        line = (await process.stdout.readline()).decode()
        if not line:
            tail = (await asyncio.to_thread(log_path.read_text, errors="replace"))[-4000:]
            raise AssertionError(f"process exited before printing {prefix!r}:\n{tail}")
        if line.startswith(prefix):
            return line


async def _drain(stream: asyncio.StreamReader | None) -> None:
    # Keep reading stdout so a chatty child never blocks on a full pipe.
    if stream is None:
        return
    while await stream.readline():
        pass


@asynccontextmanager
async def kubesim_process(directory: Path) -> AsyncIterator[KubesimProcess]:
    """``kubesim serve`` with the fast embedded rules; stopped (SIGTERM) at exit."""
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    kubeconfig = directory / "kubeconfig"
    log_path = directory / "kubesim.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kubesim.cli",
            "serve",
            "--port",
            "0",
            "--kubeconfig",
            str(kubeconfig),
            "--rules",
            str(fast_rules_file(directory)),
            env=clean_environment(),
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
        managed = KubesimProcess(process, "", log_path, kubeconfig=kubeconfig)
        drain: asyncio.Task[None] | None = None
        try:
            line = await asyncio.wait_for(
                _first_line_starting(process, "kubesim ready at ", log_path), START_TIMEOUT
            )
            managed.url = line.split()[3]
            drain = asyncio.create_task(_drain(process.stdout), name="kubesim stdout")
            yield managed
        finally:
            await managed.stop()
            if drain is not None:
                await asyncio.wait_for(drain, STOP_TIMEOUT)


class CatalystReplicas:
    """Starts ``catalyst serve`` processes sharing one database and one external cluster.

    ``settings`` are CATALYST_* values (without the prefix) given to every replica.
    Every started replica is stopped by :meth:`stop_all` (the owner of this object calls it).
    """

    def __init__(
        self, directory: Path, *, database_url: str, kubeconfig: Path, **settings: object
    ) -> None:
        self._directory = directory
        self._database_url = database_url
        self._kubeconfig = kubeconfig
        self._settings = settings
        self.started: list[CatalystProcess] = []
        self._drains: list[asyncio.Task[None]] = []

    def _environment(self, instance_id: str, kubeconfig: Path) -> dict[str, str]:
        env = clean_environment()
        env.update(
            CATALYST_DATA_DIR=str(self._directory / instance_id),
            CATALYST_DATABASE_URL=self._database_url,
            CATALYST_KUBECONFIG=str(kubeconfig),
            CATALYST_INSTANCE_ID=instance_id,
            CATALYST_LOG_LEVEL="INFO",
        )
        for name, value in self._settings.items():
            env[f"CATALYST_{name.upper()}"] = str(value)
        return env

    async def start(self, instance_id: str, *, kubeconfig: Path | None = None) -> CatalystProcess:
        """Start one replica and return once its API URL is known (it is then serving);
        ``kubeconfig`` replaces the shared one for this replica (e.g. through a relay)."""
        self._directory.mkdir(parents=True, exist_ok=True)
        log_path = self._directory / f"{instance_id}-{len(self.started)}.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "catalyst.cli",
                "serve",
                "--port",
                "0",
                env=self._environment(instance_id, kubeconfig or self._kubeconfig),
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        replica = CatalystProcess(process, "", log_path, instance_id=instance_id)
        self.started.append(replica)
        line = await asyncio.wait_for(
            _first_line_starting(process, "Catalyst API: ", log_path), START_TIMEOUT
        )
        replica.url = line.split()[2].removesuffix("/api")
        self._drains.append(asyncio.create_task(_drain(process.stdout), name="catalyst stdout"))
        return replica

    async def stop_all(self) -> None:
        await asyncio.gather(*(replica.stop() for replica in self.started))
        for drain in self._drains:
            await asyncio.wait_for(drain, STOP_TIMEOUT)


async def create_admin_token(database_url: str, name: str = "admin") -> str:
    """An admin API token written straight into the shared database (migrating it first)."""
    database = Database(database_url)
    await database.connect()
    try:
        issued = await TokenService(TokenRepository(database)).create(name, admin=True)
    finally:
        await database.close()
    return issued.token
