"""The suite's throwaway database servers: they start, stop cleanly, and explain failures."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from sqlalchemy.engine import make_url

from tests.support import database_servers
from tests.support.database_servers import (
    DatabaseServerError,
    DatabaseServers,
    ThrowawayServer,
    start_mariadb,
    start_postgresql,
)


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("start", [start_postgresql, start_mariadb], ids=["postgresql", "mariadb"])
def test_a_server_stops_and_leaves_nothing_behind(start: Callable[[], ThrowawayServer]) -> None:
    server = start()
    port = make_url(server.admin_url).port
    assert port is not None
    try:
        assert server.directory.is_dir()
        assert _accepts_connections(port)
    finally:
        server.stop()
    assert not server.directory.exists()
    assert not _accepts_connections(port)


@pytest.mark.parametrize(
    ("start", "bad_option", "logged"),
    [
        (
            start_postgresql,
            "-c no_such_setting=1",
            'unrecognized configuration parameter "no_such_setting"',
        ),
        (start_mariadb, "--no-such-option", "unknown option '--no-such-option'"),
    ],
    ids=["postgresql", "mariadb"],
)
def test_a_server_that_cannot_start_fails_with_its_log(
    start: Callable[[list[str]], ThrowawayServer], bad_option: str, logged: str
) -> None:
    with pytest.raises(DatabaseServerError) as failure:
        start([bad_option])
    message = str(failure.value)
    assert "test server did not start" in message
    assert logged in message


def test_a_configured_server_is_used_and_nothing_is_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "postgresql+asyncpg://someone@127.0.0.1:6543/admin"
    monkeypatch.setenv("CATALYST_TEST_POSTGRES_URL", url)

    def must_not_start() -> ThrowawayServer:
        raise AssertionError("a server was started although one is configured")

    monkeypatch.setitem(database_servers.STARTERS, "postgresql", must_not_start)
    assert DatabaseServers().admin_url("postgresql") == url


def test_a_start_failure_is_reported_to_every_caller_without_retrying(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CATALYST_TEST_MARIADB_URL", raising=False)
    attempts: list[int] = []

    def failing_start() -> ThrowawayServer:
        attempts.append(1)
        raise DatabaseServerError("MariaDB test server did not start: (log)")

    monkeypatch.setitem(database_servers.STARTERS, "mariadb", failing_start)
    servers = DatabaseServers()
    for _ in range(3):
        with pytest.raises(DatabaseServerError, match="did not start"):
            servers.admin_url("mariadb")
    assert len(attempts) == 1
