"""``catalyst env ...``: the command-line client's subcommands (parser and handlers).

Where to talk to: ``--url`` (else ``CATALYST_URL``, else http://127.0.0.1:8000) with
``--token`` (else ``CATALYST_TOKEN``). Output: ``-o table`` (default), ``-o wide``, ``-o
json``. Errors go to standard error as ``error: <message>``; an API error shows the
contract's status code, text and details.

Exit status (`EXIT_*`): 0 done; 1 any failure (API error, connection, bad values file,
the environment not found or deleted while waiting); 2 usage error (argparse); 3 ``wait``
(or ``delete --wait``) saw the environment ``failed``; 4 ``wait`` timed out; 130
interrupted (Ctrl-C), quietly.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from catalyst.client import output
from catalyst.client.api import (
    DEFAULT_URL,
    ApiError,
    CatalystClient,
    ClientError,
    Environment,
    WatchEvent,
)
from catalyst.client.durations import parse_duration
from catalyst.client.values import ValuesError, read_values
from catalyst.client.watch import DELETED, StatusWait, WaitResult, follow, wait_for_status

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_TIMEOUT = 4
EXIT_INTERRUPTED = 130

DEFAULT_TIMEOUT = "10m"
STATUSES = ("starting", "running", "failed", "deleting", DELETED)


# -- parser ---------------------------------------------------------------------------------


def _env_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an environment id: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"not an environment id: {text!r}")
    return value


def _timeout(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"the timeout must be positive: {text!r}")
    return seconds


def _status(text: str) -> str:
    """``running``, kubectl's ``status=running``, and ``delete`` for ``deleted``."""
    status = text.removeprefix("status=").lower()
    status = DELETED if status == "delete" else status
    if status not in STATUSES:
        raise argparse.ArgumentTypeError(f"one of {', '.join(STATUSES)} (got {text!r})")
    return status


def _connection_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help=f"the Catalyst API (CATALYST_URL, default {DEFAULT_URL})")
    common.add_argument("--token", help="the API token (CATALYST_TOKEN)")
    return common


def _output_option(parser: argparse.ArgumentParser, *formats: str) -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=formats,
        default="table",
        help="output format (default: table)",
    )


def add_env_parser(commands: Any) -> None:
    """Add ``env`` and its subcommands to ``catalyst``'s subparsers."""
    env = commands.add_parser(
        "env",
        help="manage environments through the API (list, create, wait, ...)",
        description="Manage environments through a Catalyst API. Exit status: 0 ok, 1 error, "
        "2 usage, 3 the environment failed while waiting, 4 timed out, 130 interrupted.",
    )
    sub = env.add_subparsers(dest="env_command", required=True, metavar="COMMAND")
    common = [_connection_options()]
    tables = output.FORMATS

    cmd = sub.add_parser("list", parents=common, help="list environments")
    _output_option(cmd, *tables)

    cmd = sub.add_parser("get", parents=common, help="show one environment")
    cmd.add_argument("id", type=_env_id, metavar="ID")
    cmd.add_argument(
        "--latest", action="store_true", help="recompute its status from the cluster now"
    )
    _output_option(cmd, *tables)

    cmd = sub.add_parser("create", parents=common, help="create an environment")
    cmd.add_argument("name", metavar="NAME", help="a DNS label of at most 53 characters")
    cmd.add_argument("--chart", required=True, help="the chart to deploy (e.g. mediawiki)")
    cmd.add_argument("--values", metavar="FILE|-", help="chart values, YAML or JSON (- stdin)")
    _output_option(cmd, *tables)

    cmd = sub.add_parser(
        "refresh", parents=common, help="rebuild with new values (they replace the old ones)"
    )
    cmd.add_argument("id", type=_env_id, metavar="ID")
    cmd.add_argument(
        "--values", metavar="FILE|-", help="chart values, YAML or JSON (- stdin; none: {})"
    )
    _output_option(cmd, *tables)

    cmd = sub.add_parser("delete", parents=common, help="delete an environment")
    cmd.add_argument("id", type=_env_id, metavar="ID")
    cmd.add_argument("--wait", action="store_true", help="return once it is gone")
    cmd.add_argument(
        "--timeout", type=_timeout, default=DEFAULT_TIMEOUT, help="with --wait (default 10m)"
    )
    _output_option(cmd, *tables)

    cmd = sub.add_parser("logs", parents=common, help="follow a container's log")
    cmd.add_argument("id", type=_env_id, metavar="ID")
    cmd.add_argument(
        "--stream",
        required=True,
        metavar="CHART/CONTAINER",
        help="e.g. mediawiki/install-mediawiki",
    )
    cmd.add_argument("--timestamps", action="store_true", help="prefix each line with its time")

    cmd = sub.add_parser(
        "wait", parents=common, help="wait for a status (from the watch stream, no polling)"
    )
    cmd.add_argument("id", type=_env_id, metavar="ID")
    cmd.add_argument(
        "--for",
        dest="target",
        type=_status,
        required=True,
        metavar="STATUS",
        help=f"one of {', '.join(STATUSES)}",
    )
    cmd.add_argument(
        "--timeout",
        type=_timeout,
        default=DEFAULT_TIMEOUT,
        help="give up after this long: 30s, 10m, 1h (default 10m; exit status 4)",
    )
    _output_option(cmd, *tables)

    cmd = sub.add_parser("watch", parents=common, help="print every change until Ctrl-C")
    _output_option(cmd, "table", "json")

    cmd = sub.add_parser("history", parents=common, help="an environment's status changes")
    cmd.add_argument("id", type=_env_id, metavar="ID")
    _output_option(cmd, "table", "json")

    cmd = sub.add_parser("keep", parents=common, help="drop (or postpone) a pending expiry")
    cmd.add_argument("id", type=_env_id, metavar="ID")
    cmd.add_argument(
        "--until",
        metavar="TIME|DURATION",
        help="a later expiry: RFC 3339 with a zone, or a duration from now (e.g. 48h)",
    )
    _output_option(cmd, *tables)


# -- running --------------------------------------------------------------------------------


class UsageError(Exception):
    """An argument that only makes sense once parsed further (exit status 2)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _say(text: str) -> None:
    print(text, flush=True)


def _error(text: str) -> None:
    print(f"error: {text}", file=sys.stderr, flush=True)


def _show(environment: Environment, fmt: str) -> None:
    if fmt == "json":
        _say(output.to_json(environment))
    else:
        _say(output.environments_table([environment], _now(), wide=fmt == "wide"))


def _done(environment: Environment, fmt: str, verb: str) -> None:
    """kubectl's ``<kind>/<name> <verb>`` line, or the object with ``-o json``."""
    if fmt == "json":
        _say(output.to_json(environment))
    else:
        _say(f"environment/{environment.get('id')} {verb}")


def _until(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return _now() + timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    moment = output.parse_time(text)
    if moment is None or moment.tzinfo is None:
        raise UsageError(f"--until: neither a duration nor an RFC 3339 time with a zone: {text!r}")
    return moment


async def _wait(client: CatalystClient, env_id: int, target: str, within: float, fmt: str) -> int:
    wait = StatusWait(env_id, target)
    try:
        async with asyncio.timeout(within):
            result = await wait_for_status(client, wait)
    except TimeoutError:
        last = wait.last.get("status") if wait.last else "not seen"
        _error(
            f"timed out after {within:g}s waiting for environment {env_id} to be {target} "
            f"(last status: {last})"
        )
        return EXIT_TIMEOUT
    if result is WaitResult.REACHED:
        if fmt == "json" and wait.last is not None and target != DELETED:
            _say(output.to_json(wait.last))
        else:
            _say(f"environment/{env_id} {target}")
        return EXIT_OK
    if result is WaitResult.NOT_FOUND:
        _error(f"environment {env_id} not found")
        return EXIT_ERROR
    last = wait.last or {}
    why = ": ".join(
        str(part) for part in (last.get("statusReason"), last.get("statusMessage")) if part
    )
    if result is WaitResult.FAILED:
        _error(f"environment {env_id} failed" + (f" ({why})" if why else ""))
        return EXIT_FAILED
    gone = "is being deleted" if last.get("status") == "deleting" else "was deleted"
    _error(f"environment {env_id} {gone} before it was {target}")
    return EXIT_ERROR


async def _watch(client: CatalystClient, fmt: str) -> int:
    header = fmt == "table"
    event: WatchEvent
    async for event in follow(client):
        if fmt == "json":
            _say(output.to_json_line(event.as_json()))
            continue
        if header:  # once connected: a failure to connect prints the error alone
            _say(output.watch_header())
            header = False
        row = output.watch_row(event, _now())
        if row is not None:
            _say(row)
    return EXIT_OK  # pragma: no cover (the stream is followed until interrupted)


async def _logs(client: CatalystClient, env_id: int, stream: str, timestamps: bool) -> int:
    async for line in client.follow_logs(env_id, stream):
        _say(f"{line.timestamp} {line.log}" if timestamps else line.log)
    return EXIT_OK


async def _run(args: argparse.Namespace, client: CatalystClient) -> int:
    command: str = args.env_command
    fmt: str = getattr(args, "output", "table")
    if command == "list":
        environments = await client.list_environments()
        if fmt == "json":
            _say(output.to_json(environments))
        else:
            _say(output.environments_table(environments, _now(), wide=fmt == "wide"))
    elif command == "get":
        _show(await client.get_environment(args.id, latest=args.latest), fmt)
    elif command == "create":
        values = read_values(args.values)
        _done(await client.create_environment(args.name, args.chart, values), fmt, "created")
    elif command == "refresh":
        values = read_values(args.values)
        _done(await client.refresh_environment(args.id, values), fmt, "refreshing")
    elif command == "delete":
        deleting = await client.delete_environment(args.id)
        if not args.wait:
            _done(deleting, fmt, "deleting")
            return EXIT_OK
        return await _wait(client, args.id, DELETED, args.timeout, "table")
    elif command == "logs":
        return await _logs(client, args.id, args.stream, args.timestamps)
    elif command == "wait":
        return await _wait(client, args.id, args.target, args.timeout, fmt)
    elif command == "watch":
        return await _watch(client, fmt)
    elif command == "history":
        changes = await client.history(args.id)
        _say(output.to_json(changes) if fmt == "json" else output.history_table(changes))
    elif command == "keep":
        kept = await client.keep(args.id, until=_until(args.until))
        _done(kept, fmt, "kept" + (f" until {kept.get('expiresAt')}" if args.until else ""))
    return EXIT_OK


async def _main(args: argparse.Namespace) -> int:
    url = args.url or os.environ.get("CATALYST_URL") or DEFAULT_URL
    token = args.token or os.environ.get("CATALYST_TOKEN")
    async with CatalystClient(url, token) as client:
        try:
            return await _run(args, client)
        except ApiError as error:
            hint = " (set CATALYST_TOKEN or pass --token)" if error.status_code == 401 else ""
            _error(f"{error}{hint}")
        except (ClientError, ValuesError) as error:
            _error(str(error))
        except UsageError as error:
            _error(str(error))
            return EXIT_USAGE
    return EXIT_ERROR


def env_main(argv: list[str]) -> int:
    """``catalyst env ...`` (``argv`` starts with ``env``): parse and run; the exit status.
    Usage errors exit 2 (argparse), Ctrl-C 130 quietly."""
    parser = argparse.ArgumentParser(prog="catalyst")
    add_env_parser(parser.add_subparsers(dest="command", required=True))
    return run_env(parser.parse_args(argv))


def run_env(args: argparse.Namespace) -> int:
    """Run the parsed ``env`` command; returns the exit status (130 on Ctrl-C, quietly)."""
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, and keep Python's exit-time
        # flush of stdout from failing again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
