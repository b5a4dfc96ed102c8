"""``python -m kubesim.conformance`` (also ``kubesim diff``): run every sequence against an
in-process kubesim and a real kube-apiserver, and print the differences and their counts.

The real server is a realkube started for the run (``make kube`` builds it; about a minute
to start), or an already running one given by ``--realkube-kubeconfig`` (a kubeconfig that
realkube wrote: server URL and client certificate files beside it in ``pki/``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import fnmatch
import ssl
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from kubesim.conformance import differences
from kubesim.conformance.compare import Difference
from kubesim.conformance.intentional import INTENTIONAL, markdown
from kubesim.conformance.sequences import SEQUENCES
from kubesim.server import KubeSim


def _context_from_kubeconfig(path: Path) -> tuple[str, ssl.SSLContext]:
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    cluster = config["clusters"][0]["cluster"]
    user = config["users"][0]["user"]
    folder = Path(tempfile.mkdtemp(prefix="kubesim-diff-"))

    def file_of(key: str, source: dict[str, Any]) -> str:
        if f"{key}-data" in source:
            target = folder / key
            target.write_bytes(base64.b64decode(source[f"{key}-data"]))
            return str(target)
        return str((path.parent / source[key]).resolve())

    context = ssl.create_default_context(cafile=file_of("certificate-authority", cluster))
    context.load_cert_chain(file_of("client-certificate", user), file_of("client-key", user))
    return str(cluster["server"]), context


async def run(args: argparse.Namespace) -> int:
    chosen = [s for s in SEQUENCES if any(fnmatch.fnmatch(s.name, p) for p in args.only)]
    with tempfile.TemporaryDirectory() as tmp:
        real_cluster = None
        if args.realkube_kubeconfig is not None:
            real_url, real_ssl = _context_from_kubeconfig(args.realkube_kubeconfig)
        else:
            from realkube import RealKube
            from realkube.client import ssl_context

            real_cluster = RealKube(Path(tmp) / "realkube.kubeconfig", data_dir=Path(tmp) / "rk")
            await real_cluster.start()
            assert real_cluster.pki is not None
            real_url, real_ssl = real_cluster.url, ssl_context(real_cluster.pki)
        try:
            async with KubeSim(kubeconfig=Path(tmp) / "kubesim.kubeconfig") as sim:
                answers = 0
                found: list[Difference] = []
                for sequence in chosen:
                    count, diffs = await differences(sequence, sim.url, real_url, real_ssl)
                    answers += count
                    found += diffs
                    flag = "ok" if all(d.intentional for d in diffs) else "DIFFERS"
                    print(
                        f"{sequence.name:42} {count:3} answers  {len(diffs):3} differences  {flag}"
                    )
        finally:
            if real_cluster is not None:
                await real_cluster.stop()
    unexpected = [d for d in found if d.intentional is None]
    intentional = [d for d in found if d.intentional is not None]
    if args.verbose or unexpected:
        print()
        for d in found if args.verbose else unexpected:
            print(d.describe())
    used = {d.intentional.name for d in intentional if d.intentional}
    print()
    print(f"sequences compared:        {len(chosen)}")
    print(f"answers compared:          {answers}")
    print(f"differences found:         {len(found)}")
    entries = f"{len(used)} of {len(INTENTIONAL)} entries"
    print(f"  documented:               {len(intentional)} ({entries})")
    print(f"  unexpected:               {len(unexpected)}")
    for entry in INTENTIONAL:
        count = sum(1 for d in intentional if d.intentional is entry)
        print(f"    {entry.name:34} {entry.kind:11} {count:4}")
    return 1 if unexpected else 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubesim diff", description=__doc__.splitlines()[0])
    p.add_argument("--realkube-kubeconfig", type=Path, default=None)
    p.add_argument("--only", nargs="*", default=["*"], help="sequence name patterns")
    p.add_argument("-v", "--verbose", action="store_true", help="list intentional ones too")
    p.add_argument(
        "--markdown", action="store_true", help="print the documented-differences table and exit"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.markdown:
        print(markdown(), end="")
        return 0
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
