"""Throwaway PostgreSQL and MariaDB servers for one test session.

The suite tests every store on SQLite, PostgreSQL and MariaDB. On a machine with no
database server running, `DatabaseServers` starts one of each on first use: on a free
port chosen by ``port-for`` (never a well-known one such as 5432 or 3306, so servers that
already run there are left alone), with its data, socket and log in a new directory under
the system temporary folder, and stops it and removes that directory at the end.

Process handling is pytest-postgresql's ``PostgreSQLExecutor`` and pytest-mysql's
``MySQLExecutor`` (both on ``mirakuru``): they initialise the data directory, start the
server, wait until it accepts connections and shut it down cleanly. What this module adds
is what those executors leave to their pytest plugins, which this suite does not use:

- PostgreSQL refuses to run as root, and CI runs as root: ``pg_ctl`` is then run as the
  ``postgres`` system user (created by Debian's package) through a two-line wrapper, and
  the server's directory belongs to that user.
- MariaDB's ``root`` account authenticates through the unix socket only; a passwordless
  ``catalyst`` account for 127.0.0.1 is created through the socket so that the async
  drivers can connect over TCP.
- A server that does not start raises `DatabaseServerError` carrying the end of its log,
  so the failing tests show why (they error; they are never skipped).

``CATALYST_TEST_POSTGRES_URL`` / ``CATALYST_TEST_MARIADB_URL`` (admin URLs) point the
suite at existing servers instead; nothing is started for a backend whose variable is set.
The server packages themselves are installed by ``scripts/install-test-databases``, which
``make test`` runs.
"""

from __future__ import annotations

import getpass
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import port_for

ADMIN_URL_VARIABLES = {
    "postgresql": "CATALYST_TEST_POSTGRES_URL",
    "mariadb": "CATALYST_TEST_MARIADB_URL",
}
HOST = "127.0.0.1"
# Start and stop timeout of one server: initialising a data directory takes a few
# seconds, more on a loaded 2-core machine.
SERVER_TIMEOUT_S = 120
LOG_TAIL_LINES = 60
# Where Debian puts programs that are not on a non-root user's PATH.
SYSTEM_BIN_DIRS = ("/usr/sbin", "/sbin", "/usr/bin")


class DatabaseServerError(RuntimeError):
    """A throwaway database server could not be started; the message ends with its log."""


@dataclass
class ThrowawayServer:
    """A started server: how to reach it as an administrator, and how to remove it."""

    backend: str
    admin_url: str
    directory: Path
    _stop: Callable[[], object]

    def stop(self) -> None:
        """Shut the server down and delete its directory (data, socket and log)."""
        try:
            self._stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


class DatabaseServers:
    """Admin URLs of the session's servers: configured ones, or throwaway ones started lazily.

    Thread-safe: a server is started at most once, by whichever caller needs it first.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: dict[str, ThrowawayServer] = {}
        self._failures: dict[str, DatabaseServerError] = {}

    def admin_url(self, backend: str) -> str:
        configured = os.environ.get(ADMIN_URL_VARIABLES[backend])
        if configured:
            return configured
        with self._lock:
            if backend in self._failures:
                # Report the same failure to every test instead of retrying a slow start.
                raise self._failures[backend]
            if backend not in self._started:
                try:
                    self._started[backend] = STARTERS[backend]()
                except DatabaseServerError as exc:
                    self._failures[backend] = exc
                    raise
            return self._started[backend].admin_url

    def stop_all(self) -> None:
        """Stop every server started; one failure does not keep the others running."""
        errors: list[BaseException] = []
        with self._lock:
            for backend in list(self._started):
                try:
                    self._started.pop(backend).stop()
                except BaseException as exc:
                    errors.append(exc)
        if errors:
            raise errors[0]


def start_postgresql(server_options: Sequence[str] = ()) -> ThrowawayServer:
    """Initialise and start a PostgreSQL server (trust auth, superuser ``postgres``)."""
    # Imported here: the package's __init__ needs libpq, which only a machine that runs
    # the server is sure to have.
    from pytest_postgresql.executors.proc import PostgreSQLExecutor

    pg_ctl = _find_pg_ctl()
    directory = _new_directory("postgresql")
    as_root = os.geteuid() == 0
    if as_root:
        os.chown(directory, *_ids_of("postgres"))
        executable = _write_run_as_wrapper(directory, "postgres", pg_ctl)
    else:
        executable = pg_ctl
    port = port_for.select_random()
    log = directory / "postgresql.log"
    options = [f"-c listen_addresses={HOST}", "-c max_connections=300", *server_options]
    executor = PostgreSQLExecutor(
        executable=str(executable),
        host=HOST,
        port=port,
        datadir=str(directory / "data"),
        unixsocketdir=str(directory),
        logfile=str(log),
        startparams="-w",
        dbname="postgres",
        user="postgres",
        postgres_options=" ".join(options),
        timeout=SERVER_TIMEOUT_S,
    )

    def start() -> None:
        executor.start()
        # The executor's check is that the port accepts connections, which PostgreSQL does
        # while it still answers "the database system is starting up": wait for ready.
        _wait_until_ready(pg_ctl.with_name("pg_isready"), port)

    _start_or_explain(start, "PostgreSQL", directory, log, executor.stop)
    return ThrowawayServer(
        backend="postgresql",
        admin_url=f"postgresql+asyncpg://postgres@{HOST}:{port}/postgres",
        directory=directory,
        _stop=executor.stop,
    )


def start_mariadb(server_options: Sequence[str] = ()) -> ThrowawayServer:
    """Initialise and start a MariaDB server with a passwordless ``catalyst`` admin account."""
    from mirakuru.exceptions import ProcessExitedWithError
    from pytest_mysql.executor import MySQLExecutor

    class MariaDBExecutor(MySQLExecutor):
        def check_subprocess(self) -> bool:
            # mysqld_safe exits 0 when the server aborts at start, and mirakuru treats only
            # a non-zero exit as a failure: without this, a bad start waits out the timeout.
            if self.process is not None and self.process.poll() == 0:
                self._clear_process()
                raise ProcessExitedWithError(self, 0)
            return super().check_subprocess()

    directory = _new_directory("mariadb")
    os_user = getpass.getuser()
    port = port_for.select_random()
    log = directory / "mariadb.log"
    options = [
        f"--bind-address={HOST}",
        "--skip-name-resolve",
        "--max-connections=300",
        # Durability is not what these servers are for; speed is.
        "--innodb-flush-log-at-trx-commit=0",
        # Debian's server config sets a binary log expiry although no binary log is kept.
        "--expire-logs-days=0",
        *server_options,
    ]
    executor = MariaDBExecutor(
        mysqld_safe=_find_program("mariadbd-safe"),
        mysqld=_find_program("mariadbd"),
        admin_exec=str(_find_program("mariadb-admin")),
        logfile_path=str(log),
        params=" ".join(options),
        base_directory=directory,
        user=os_user,
        host=HOST,
        port=port,
        timeout=SERVER_TIMEOUT_S,
        install_db=str(_find_program("mariadb-install-db")),
    )

    def start() -> None:
        executor.start()
        # mariadb-install-db gives the OS user that ran it a socket-authenticated account.
        grant = (
            f"CREATE USER 'catalyst'@'{HOST}'; "
            f"GRANT ALL PRIVILEGES ON *.* TO 'catalyst'@'{HOST}' WITH GRANT OPTION;"
        )
        _run(
            [
                str(_find_program("mariadb")),
                "--no-defaults",
                f"--socket={executor.unixsocket}",
                f"--user={os_user}",
                "--execute",
                grant,
            ]
        )

    _start_or_explain(start, "MariaDB", directory, log, executor.stop)
    return ThrowawayServer(
        backend="mariadb",
        admin_url=f"mysql+aiomysql://catalyst@{HOST}:{port}/mysql",
        directory=directory,
        _stop=executor.stop,
    )


STARTERS: dict[str, Callable[[], ThrowawayServer]] = {
    "postgresql": start_postgresql,
    "mariadb": start_mariadb,
}


def _start_or_explain(
    start: Callable[[], object],
    name: str,
    directory: Path,
    log: Path,
    stop: Callable[[], object],
) -> None:
    """Run `start`; on any failure stop what did start, and raise with the server's log."""
    try:
        start()
    except Exception as exc:
        detail = _describe(exc)
        try:
            stop()
        except Exception:
            pass  # it never ran, or is already gone: the start failure is what matters
        tail = _log_tail(log)
        shutil.rmtree(directory, ignore_errors=True)
        raise DatabaseServerError(
            f"{name} test server did not start: {detail}\n--- last lines of {log.name} ---\n{tail}"
        ) from exc


def _describe(exc: Exception) -> str:
    if isinstance(exc, subprocess.CalledProcessError):
        output = b"".join(part for part in (exc.output, exc.stderr) if isinstance(part, bytes))
        return f"{exc}\n{output.decode(errors='replace')}".rstrip()
    return f"{type(exc).__name__}: {exc}"


def _log_tail(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(lines[-LOG_TAIL_LINES:]) or "(log is empty)"


def _new_directory(backend: str) -> Path:
    # Not pytest's tmp_path: that is private to the user running pytest, and PostgreSQL
    # runs as another user when that one is root.
    return Path(tempfile.mkdtemp(prefix=f"catalyst-test-{backend}-"))


def _find_pg_ctl() -> Path:
    """Debian keeps pg_ctl under /usr/lib/postgresql/<major>/bin: take the newest."""
    candidates = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
    if candidates:
        return Path(max(candidates, key=lambda path: int(Path(path).parts[4])))
    return _find_program("pg_ctl")


def _find_program(name: str) -> Path:
    search = os.pathsep.join([os.environ.get("PATH", ""), *SYSTEM_BIN_DIRS])
    found = shutil.which(name, path=search)
    if found is None:
        raise DatabaseServerError(
            f"{name} not found: run scripts/install-test-databases (make test does), or set "
            f"{' / '.join(ADMIN_URL_VARIABLES.values())} to servers you run"
        )
    return Path(found)


def _ids_of(user: str) -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise DatabaseServerError(
            f"PostgreSQL will not run as root and there is no '{user}' user to run it as "
            "(Debian's postgresql package creates it)"
        ) from None
    return entry.pw_uid, entry.pw_gid


def _write_run_as_wrapper(directory: Path, user: str, program: Path) -> Path:
    """An executable that runs `program` with the same arguments as `user`."""
    wrapper = directory / program.name
    wrapper.write_text(f'#!/bin/sh\ncd /\nexec runuser -u {user} -- {program} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def _wait_until_ready(pg_isready: Path, port: int) -> None:
    """Return once the server accepts sessions; raise after SERVER_TIMEOUT_S."""
    command = [str(pg_isready), "--host", HOST, "--port", str(port), "--username", "postgres"]
    command += ["--dbname", "postgres", "--timeout", "2"]
    deadline = time.monotonic() + SERVER_TIMEOUT_S
    while True:
        # 0: accepting; 1: rejecting (starting up); 2: no answer; 3: bad arguments.
        result = subprocess.run(command, capture_output=True, timeout=SERVER_TIMEOUT_S)
        if result.returncode == 0:
            return
        if result.returncode == 3 or time.monotonic() > deadline:
            raise subprocess.CalledProcessError(
                result.returncode, command, result.stdout, result.stderr
            )
        time.sleep(0.1)


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=SERVER_TIMEOUT_S)
