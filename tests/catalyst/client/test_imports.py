"""``catalyst env`` starts fast because it loads no service code: neither the client package
nor ``catalyst.cli`` (the console script's module) imports the service, store, API,
watcher or cluster packages, or FastAPI and SQLAlchemy."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "catalyst.service",
    "catalyst.store",
    "catalyst.api",
    "catalyst.app",
    "catalyst.watcher",
    "catalyst.cluster",
    "catalyst.config",
    "fastapi",
    "sqlalchemy",
)

PROBE = """
import sys
import catalyst.cli, catalyst.client.commands
heavy = {heavy!r}
print(sorted(m for m in sys.modules if m.startswith(heavy)))
"""


def test_the_client_and_the_cli_module_import_no_service_code() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]", result.stdout
