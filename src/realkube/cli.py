"""The ``realkube`` command.

- ``realkube serve --kubeconfig FILE [--port N] [--data-dir DIR] [--rules FILE] [--nodes N]``
  starts the control plane (see :mod:`realkube.cluster`), prints exactly one line on stdout,
  ``realkube ready at https://127.0.0.1:PORT (kubeconfig: FILE)``, once pods can be scheduled
  and run, and serves until SIGINT or SIGTERM; then it stops every component and exits 0.
  If a component dies on its own, it stops the rest and exits 1 with that component's log.
- ``realkube run --kubeconfig FILE [same options] -- COMMAND [ARGS...]`` starts the cluster,
  runs COMMAND with ``KUBECONFIG`` set to FILE, and stops the cluster when COMMAND ends
  (exiting with its status). SIGINT/SIGTERM are passed to COMMAND first (SIGKILL after 30 s),
  then the cluster stops. ``make run-real`` uses it for ``catalyst serve``.

Logs go to stderr; the components' own logs are in ``DATA_DIR/logs``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from realkube.binaries import BinariesMissing
from realkube.cluster import RealKube
from realkube.process import ComponentFailed

CHILD_STOP_TIMEOUT = 30.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="realkube", description="A real Kubernetes control plane with kwok nodes"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("serve", "run the control plane until SIGINT/SIGTERM"),
        ("run", "run the control plane around one command"),
    ):
        cmd = commands.add_parser(name, help=help_text)
        cmd.add_argument("--kubeconfig", type=Path, required=True, help="kubeconfig to write")
        cmd.add_argument("--port", type=int, default=0, help="API server port (0: a free one)")
        cmd.add_argument(
            "--data-dir", type=Path, default=None, help="state folder (default: temporary)"
        )
        cmd.add_argument("--rules", type=Path, default=None, help="kubesim rules file (YAML)")
        cmd.add_argument("--nodes", type=int, default=1, help="how many kwok nodes")
        cmd.add_argument("--log-level", default="WARNING")
        if name == "run":
            cmd.add_argument("child", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    return parser


def _cluster(args: argparse.Namespace) -> RealKube:
    return RealKube(
        args.kubeconfig.absolute(),
        port=args.port,
        data_dir=None if args.data_dir is None else args.data_dir.absolute(),
        rules=args.rules,
        nodes=args.nodes,
    )


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _wait_any(*aws: asyncio.Future[Any]) -> None:
    _, pending = await asyncio.wait(aws, return_when=asyncio.FIRST_COMPLETED)
    for future in pending:
        future.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await future


async def _started(args: argparse.Namespace, stop: asyncio.Event) -> RealKube | None:
    """The started cluster with its ready line printed, or None when a stop signal came
    first (the cluster is then stopped again)."""
    cluster = _cluster(args)
    starting = asyncio.ensure_future(cluster.start())
    await _wait_any(starting, asyncio.ensure_future(stop.wait()))
    if not starting.done() or starting.cancelled():
        await cluster.stop()
        return None
    starting.result()
    print(f"realkube ready at {cluster.url} (kubeconfig: {args.kubeconfig})", flush=True)
    return cluster


async def serve(args: argparse.Namespace) -> int:
    stop = _stop_event()
    cluster = await _started(args, stop)
    if cluster is None:
        return 0
    try:
        failed = asyncio.ensure_future(cluster.wait_failed())
        await _wait_any(failed, asyncio.ensure_future(stop.wait()))
        if failed.done() and not failed.cancelled():
            print(failed.result().failure("stopped on its own"), file=sys.stderr)
            return 1
        return 0
    finally:
        await cluster.stop()


async def run(args: argparse.Namespace) -> int:
    child = list(args.child)
    if child[:1] == ["--"]:
        child = child[1:]
    if not child:
        print("realkube run: give a command after --", file=sys.stderr)
        return 2
    stop = _stop_event()
    cluster = await _started(args, stop)
    if cluster is None:
        return 130
    try:
        env = dict(os.environ, KUBECONFIG=str(args.kubeconfig.absolute()))
        process = await asyncio.create_subprocess_exec(*child, env=env)
        exited = asyncio.ensure_future(process.wait())
        await _wait_any(exited, asyncio.ensure_future(stop.wait()))
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), CHILD_STOP_TIMEOUT)
            except TimeoutError:
                process.kill()
                await process.wait()
        return process.returncode or 0
    finally:
        await cluster.stop()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return asyncio.run(serve(args) if args.command == "serve" else run(args))
    except (BinariesMissing, ComponentFailed) as exc:
        print(f"realkube: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
