"""``kubesim serve``: run the emulator as a process.

Prints exactly one line on stdout once the API is reachable (``kubesim ready at
URL (kubeconfig: FILE)``) so a parent process can wait for it, then serves until
SIGINT or SIGTERM and stops cleanly (exit status 0).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from kubesim.server import KubeSim


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubesim", description="Kubernetes API emulator")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the Kubernetes API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--kubeconfig", type=Path, required=True, help="kubeconfig file to write")
    serve.add_argument("--rules", type=Path, default=None, help="simulator rules (YAML)")
    serve.add_argument("--log-level", default="WARNING")
    serve.add_argument("--history-limit", type=int, default=None, help="watch history events kept")
    commands.add_parser(
        "diff",
        help="compare kubesim's answers with a real kube-apiserver's (kubesim.conformance)",
        add_help=False,
    )
    return parser


async def serve(args: argparse.Namespace) -> None:
    options = {} if args.history_limit is None else {"history_limit": args.history_limit}
    # kubesim owns this process, so it may manage the cyclic GC (see HeapFreezer).
    sim = KubeSim(
        args.host,
        args.port,
        kubeconfig=args.kubeconfig,
        rules=args.rules,
        freeze_heap=True,
        **options,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await sim.start()
    try:
        print(f"kubesim ready at {sim.url} (kubeconfig: {args.kubeconfig})", flush=True)
        await stop.wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["diff"]:
        from kubesim.conformance.__main__ import main as diff_main

        return diff_main(given[1:])
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
