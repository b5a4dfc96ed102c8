"""The clusters a benchmark can run against: kubesim and realkube, each in a child process.

``cluster_target(name, workdir, controllers=..., nodes=...)`` starts one and yields a
:class:`Target`: its name, API URL, kubeconfig (accepted by Catalyst's ``ClusterClient``
on both) and, for realkube, the TLS context a plain HTTP client (httpx) needs for its
client-certificate authentication. The cluster never runs in the measuring process:

* ``kubesim``: ``kubesim serve`` (with its controllers), or, with ``controllers=False``,
  this module re-run as ``--child kubesim`` serving a kubesim whose controllers are off;
* ``realkube``: this module re-run as ``--child realkube``: :class:`realkube.RealKube`
  (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok nodes) with
  Catalyst's embedded kubesim rules. With ``controllers=False`` the child stops
  kube-controller-manager once the cluster is ready, so, as on kubesim without controllers,
  an object's status is exactly what the benchmark writes (the scheduler and kwok stay,
  with no pods to act on).

The child prints ``ready URL`` and runs until its stdin closes (the parent's exit).
``parse_clusters`` reads the ``--cluster kubesim|realkube|both`` option of the benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ssl
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from kubesim.process import kubesim_process

CLUSTERS = ("kubesim", "realkube")
EMBEDDED_RULES = Path(__file__).resolve().parents[1] / "src/catalyst/embedded/kubesim-rules.yaml"
START_TIMEOUT = 300.0
STOP_TIMEOUT = 90.0


@dataclass
class Target:
    name: str
    url: str
    kubeconfig: Path
    ssl: ssl.SSLContext | None
    """For httpx (``verify=``): the cluster CA and admin client certificate; None on kubesim."""


def parse_clusters(text: str) -> list[str]:
    if text == "both":
        return list(CLUSTERS)
    names = text.split(",")
    for name in names:
        if name not in CLUSTERS:
            raise argparse.ArgumentTypeError(f"unknown cluster {name!r}: kubesim, realkube, both")
    return names


@contextlib.asynccontextmanager
async def cluster_target(
    name: str, workdir: Path, *, controllers: bool = True, nodes: int = 1
) -> AsyncIterator[Target]:
    """Start cluster ``name`` (``kubesim`` or ``realkube``) under ``workdir``; stop it after."""
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    kubeconfig = workdir / f"{name}.kubeconfig"
    if name == "kubesim" and controllers:
        async with kubesim_process(kubeconfig) as child:
            yield Target(name, child.url, kubeconfig, None)
        return
    command = [sys.executable, __file__, "--child", name, "--kubeconfig", str(kubeconfig)]
    command += ["--data-dir", str(workdir / name), "--nodes", str(nodes)]
    if not controllers:
        command.append("--no-controllers")
    log = (workdir / f"{name}-child.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log
    )
    try:
        url = await asyncio.wait_for(_ready(process, workdir / f"{name}-child.log"), START_TIMEOUT)
        context = None
        if name == "realkube":
            from realkube.client import ssl_context
            from realkube.pki import Pki

            context = ssl_context(Pki(workdir / name / "pki"))
        yield Target(name, url, kubeconfig, context)
    finally:
        if process.returncode is None:
            assert process.stdin is not None
            process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                process.terminate()
                await process.wait()
        log.close()


async def _ready(process: asyncio.subprocess.Process, log: Path) -> str:
    assert process.stdout is not None
    while True:
        line = (await process.stdout.readline()).decode()
        if not line:
            tail = (await asyncio.to_thread(log.read_text, errors="replace"))[-3000:]
            raise RuntimeError(f"cluster child exited before it was ready:\n{tail}")
        if line.startswith("ready "):
            return line.split()[1]


# ------------------------------------------------------------------ the child


async def _serve_child(args: argparse.Namespace) -> None:
    if args.child == "kubesim":
        from kubesim.server import KubeSim

        sim = KubeSim(
            "127.0.0.1",
            0,
            kubeconfig=args.kubeconfig,
            controllers=not args.no_controllers,
            freeze_heap=True,
        )
        await sim.start()
        try:
            print(f"ready {sim.url}", flush=True)
            await asyncio.to_thread(sys.stdin.read)
        finally:
            await sim.stop()
        return
    from realkube import RealKube

    cluster = RealKube(
        args.kubeconfig,
        data_dir=args.data_dir,
        rules=EMBEDDED_RULES,
        nodes=args.nodes,
        start_timeout=START_TIMEOUT - 30,
    )
    await cluster.start()
    try:
        if args.no_controllers:
            await cluster.component("kube-controller-manager").stop()
        print(f"ready {cluster.url}", flush=True)
        await asyncio.to_thread(sys.stdin.read)
    finally:
        await cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="a benchmark's cluster (child process)")
    parser.add_argument("--child", choices=CLUSTERS, required=True)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--no-controllers", action="store_true")
    asyncio.run(_serve_child(parser.parse_args()))


if __name__ == "__main__":
    main()
