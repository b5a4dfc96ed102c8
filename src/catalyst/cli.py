"""The ``catalyst`` command: ``serve``, ``token create|list|revoke``, ``migrate``.

Settings come from ``CATALYST_*`` environment variables (see `catalyst.config.Settings`);
``serve --host/--port`` override the two listening settings.

- ``catalyst serve``: runs the service. With no kubeconfig configured it starts the
  embedded default: a SQLite file and a kubesim under CATALYST_DATA_DIR (the kubeconfig is
  written there, so kubectl can look at the environments too) and the bundled charts. It
  prints the API and dashboard URLs and where the kubeconfig is, and stops cleanly on
  SIGINT/SIGTERM.
- ``catalyst token create NAME [--admin]``: creates an API token; the token is printed
  once, alone on the last line of the output (scripts take ``tail -n 1``). The API needs a
  token: on a fresh installation create one with this command first.
- ``catalyst token list``: every token's id, name, whether it is an admin token and when
  it was created (never the token: only its hash is stored).
- ``catalyst token revoke NAME|ID``: deletes the token with that name, or with that id when
  no token has that name. Replicas that recognised it in the last 5 seconds may accept it
  for up to 5 seconds more (their recognition cache); after that it is refused everywhere.
  Exit status 1 when no token matches.
- ``catalyst migrate``: applies the database migrations and exits.
- ``catalyst env list|get|create|refresh|delete|logs|wait|watch|history|keep``: the API's
  command-line client (`catalyst.client.commands`); it reads no ``Settings``: only
  ``CATALYST_URL`` / ``CATALYST_TOKEN`` or ``--url`` / ``--token``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from catalyst.client.commands import add_env_parser, env_main

# The service's modules take seconds to import: only the commands that use them import them,
# so ``catalyst env`` (which talks HTTP only) starts at once.
if TYPE_CHECKING:
    from catalyst.app import Catalyst
    from catalyst.config import Settings
    from catalyst.service.tokens import TokenService


def _parser() -> argparse.ArgumentParser:
    from catalyst.service.tokens import CACHE_SECONDS

    parser = argparse.ArgumentParser(
        prog="catalyst", description="Short-lived test environments on Kubernetes."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="run the HTTP API and background workers")
    serve_cmd.add_argument("--host", help="listen address (CATALYST_HOST, default 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, help="listen port (CATALYST_PORT, default 8000)")

    token_cmd = commands.add_parser("token", help="manage API tokens")
    token_commands = token_cmd.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create a token and print it once")
    create.add_argument("name", help="a unique name for the token (who uses it)")
    create.add_argument("--admin", action="store_true", help="may see every environment")
    token_commands.add_parser("list", help="list tokens (ids, names, admin, created)")
    revoke = token_commands.add_parser(
        "revoke",
        help=f"revoke a token (other replicas may accept it for up to {CACHE_SECONDS:g} s more)",
    )
    revoke.add_argument("token", metavar="NAME|ID", help="the token's name, or its id")

    commands.add_parser("migrate", help="apply database migrations and exit")
    add_env_parser(commands)
    return parser


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _announce(catalyst: Catalyst, url: str) -> None:
    print(f"Catalyst API: {url}/api (docs: {url}/api/docs)", flush=True)
    print(f"Dashboard: {url}/", flush=True)
    if catalyst.kubesim is not None:
        print(f"Embedded kubesim: {catalyst.kubesim.url}", flush=True)
    if catalyst.kubeconfig is not None:
        print(f"Kubeconfig: {catalyst.kubeconfig}", flush=True)
    print(
        "Create an API token with: catalyst token create NAME --admin (same CATALYST_* settings)",
        flush=True,
    )


T = TypeVar("T")


async def _with_tokens(settings: Settings, use: Callable[[TokenService], Awaitable[T]]) -> T:
    """Run ``use`` with a token service on the configured (migrated) database."""
    from catalyst.service.tokens import TokenService
    from catalyst.store.database import Database
    from catalyst.store.tokens import TokenRepository

    await asyncio.to_thread(settings.data_dir.mkdir, parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url())
    try:
        await database.connect()
        return await use(TokenService(TokenRepository(database)))
    finally:
        await database.close()


async def _create_token(settings: Settings, name: str, admin: bool) -> int:
    from catalyst.store.errors import TokenNameTaken

    try:
        issued = await _with_tokens(settings, lambda tokens: tokens.create(name, admin=admin))
    except TokenNameTaken:
        print(f"error: a token named {name!r} already exists", file=sys.stderr)
        return 1
    kind = "admin token" if issued.admin else "token"
    print(f"Created {kind} {issued.name!r} (id {issued.id}). It is shown only once:")
    print(issued.token, flush=True)
    return 0


async def _list_tokens(settings: Settings) -> int:
    records = await _with_tokens(settings, lambda tokens: tokens.list())
    rows = [("ID", "NAME", "ADMIN", "CREATED")] + [
        (
            str(r.id),
            r.name,
            "yes" if r.admin else "no",
            r.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join([*(row[i].ljust(widths[i]) for i in range(3)), row[3]]))
    return 0


async def _revoke_token(settings: Settings, name_or_id: str) -> int:
    from catalyst.service.tokens import CACHE_SECONDS

    revoked = await _with_tokens(settings, lambda tokens: tokens.revoke(name_or_id))
    if revoked is None:
        print(f"error: no token named or numbered {name_or_id!r}", file=sys.stderr)
        return 1
    print(
        f"Revoked token {revoked.name!r} (id {revoked.id}). Replicas that recognised it in "
        f"the last {CACHE_SECONDS:g} s may accept it for up to {CACHE_SECONDS:g} s more."
    )
    return 0


async def _migrate(settings: Settings) -> int:
    from catalyst.store.database import Database, redact_url

    await asyncio.to_thread(settings.data_dir.mkdir, parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url())
    try:
        await database.connect()
    finally:
        await database.close()
    print(f"Database {redact_url(settings.resolved_database_url())} is at the latest schema.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["env"]:
        return env_main(arguments)
    from catalyst.app import serve
    from catalyst.config import Settings

    args = _parser().parse_args(arguments)
    overrides: dict[str, object] = {}
    if args.command == "serve":
        if args.host is not None:
            overrides["host"] = args.host
        if args.port is not None:
            overrides["port"] = args.port
    settings = Settings(**overrides)  # type: ignore[arg-type]
    _configure_logging(settings.log_level)
    if args.command == "serve":
        asyncio.run(serve(settings, announce=_announce))
        return 0
    if args.command == "token":
        if args.token_command == "list":
            return asyncio.run(_list_tokens(settings))
        if args.token_command == "revoke":
            return asyncio.run(_revoke_token(settings, args.token))
        return asyncio.run(_create_token(settings, args.name, args.admin))
    return asyncio.run(_migrate(settings))


if __name__ == "__main__":
    sys.exit(main())
