"""kubesim load benchmark: memory with 50k objects and 1k watches, write-to-watcher latency.

Three processes, so client work does not run on the server's event loop:

* the server: ``kubesim serve`` (a subprocess);
* the watchers: this script re-run with ``--watchers-child`` (a subprocess) that
  opens every watch and timestamps each event as it arrives;
* the driver (this process): seeds the objects, measures the server's RSS,
  then writes at a fixed rate, stamping each write with the wall-clock send
  time in an annotation.

Latency = arrival time at a watcher - send time of the write, for every
delivery to every matching watcher (p50/p99/max). Prints figures; asserts
nothing. Usage: ``.venv/bin/python bench/bench_kubesim.py [--objects 50000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from kubesim.process import kubesim_process

NAMESPACES = 500
SHARDS = 10
SENT = "bench.kubesim.io/sent"


# ------------------------------------------------------------------ helpers


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))
    return sorted_values[index]


def ns_name(i: int) -> str:
    return f"bench-{i:03d}"


def watch_specs(rng: random.Random) -> list[dict[str, Any]]:
    """1,000 watches spread over resources, namespaces and selectors."""
    specs: list[dict[str, Any]] = []
    for _ in range(600):  # one namespace's ConfigMaps (informer per namespace)
        specs.append({"ns": ns_name(rng.randrange(NAMESPACES)), "resource": "configmaps"})
    for _ in range(200):  # namespaced, with a label selector
        specs.append(
            {
                "ns": ns_name(rng.randrange(NAMESPACES)),
                "resource": "configmaps",
                "shard": rng.randrange(SHARDS),
            }
        )
    for _ in range(100):  # cluster-wide with a selector: sees a tenth of all writes
        specs.append({"ns": None, "resource": "configmaps", "shard": rng.randrange(SHARDS)})
    for _ in range(100):  # Secrets: never written during the run
        specs.append({"ns": ns_name(rng.randrange(NAMESPACES)), "resource": "secrets"})
    return specs


def spec_path(spec: dict[str, Any]) -> str:
    if spec["ns"] is None:
        return f"/api/v1/{spec['resource']}"
    return f"/api/v1/namespaces/{spec['ns']}/{spec['resource']}"


def spec_matches(spec: dict[str, Any], ns: str, shard: int) -> bool:
    if spec["resource"] != "configmaps":
        return False
    if spec["ns"] is not None and spec["ns"] != ns:
        return False
    return "shard" not in spec or spec["shard"] == shard


# ------------------------------------------------------------ watcher child


async def watchers_child(url: str, specs: list[dict[str, Any]], rv: str) -> None:
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as session:
        opened = 0
        all_open = asyncio.Event()

        async def watch(spec: dict[str, Any]) -> None:
            nonlocal opened, errors
            params = {"watch": "1", "resourceVersion": rv, "allowWatchBookmarks": "true"}
            if "shard" in spec:
                params["labelSelector"] = f"shard={spec['shard']}"
            async with session.get(spec_path(spec), params=params) as resp:
                opened += 1
                if opened == len(specs):
                    all_open.set()
                if resp.status != 200:
                    errors += 1
                    return
                async for line in resp.content:
                    arrived = time.time()
                    event = orjson.loads(line)
                    annotations = event["object"].get("metadata", {}).get("annotations") or {}
                    sent = annotations.get(SENT)
                    if sent is not None:
                        latencies.append(arrived - float(sent))

        tasks = [asyncio.create_task(watch(s)) for s in specs]
        await all_open.wait()
        print("READY", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.readline)  # driver says stop
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    latencies.sort()
    print(
        json.dumps(
            {
                "deliveries": len(latencies),
                "errors": errors,
                "p50_ms": percentile(latencies, 0.50) * 1000,
                "p99_ms": percentile(latencies, 0.99) * 1000,
                "max_ms": (latencies[-1] if latencies else float("nan")) * 1000,
            }
        ),
        flush=True,
    )


# ------------------------------------------------------------------- driver


async def seed(session: aiohttp.ClientSession, objects: int) -> tuple[int, int]:
    per_ns = objects // NAMESPACES
    secrets = per_ns // 25  # ~4% Secrets, the rest ConfigMaps
    configmaps = per_ns - secrets
    semaphore = asyncio.Semaphore(64)

    async def post(path: str, body: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/json"}
        async with semaphore, session.post(path, data=orjson.dumps(body), headers=headers) as resp:
            if resp.status != 201:
                raise RuntimeError(f"POST {path}: {resp.status} {await resp.text()}")

    await asyncio.gather(
        *(post("/api/v1/namespaces", {"metadata": {"name": ns_name(i)}}) for i in range(NAMESPACES))
    )
    jobs = []
    for i in range(NAMESPACES):
        ns = ns_name(i)
        for j in range(configmaps):
            body = {
                "metadata": {"name": f"cm-{j:03d}", "labels": {"shard": str(j % SHARDS)}},
                "data": {"value": "x" * 200},
            }
            jobs.append(post(f"/api/v1/namespaces/{ns}/configmaps", body))
        for j in range(secrets):
            body = {"metadata": {"name": f"secret-{j}"}, "data": {"token": "dG9rZW4="}}
            jobs.append(post(f"/api/v1/namespaces/{ns}/secrets", body))
    await asyncio.gather(*jobs)
    return configmaps, NAMESPACES * per_ns


async def write_load(
    session: aiohttp.ClientSession,
    rng: random.Random,
    *,
    rate: float,
    seconds: float,
    configmaps: int,
    specs: list[dict[str, Any]],
) -> tuple[int, int, float]:
    """Patch random ConfigMaps at ``rate``; returns writes, expected deliveries, lag."""
    total = int(rate * seconds)
    expected = 0
    failures = 0
    loop = asyncio.get_running_loop()
    start = loop.time()
    pending: set[asyncio.Task[None]] = set()
    worst_lag = 0.0

    async def patch(ns: str, name: str) -> None:
        nonlocal failures
        body = {"metadata": {"annotations": {SENT: repr(time.time())}}}
        headers = {"Content-Type": "application/merge-patch+json"}
        path = f"/api/v1/namespaces/{ns}/configmaps/{name}"
        async with session.patch(path, data=orjson.dumps(body), headers=headers) as resp:
            if resp.status != 200:
                failures += 1
            await resp.read()

    for i in range(total):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        worst_lag = max(worst_lag, -delay)
        ns_index = rng.randrange(NAMESPACES)
        j = rng.randrange(configmaps)
        ns = ns_name(ns_index)
        expected += sum(spec_matches(s, ns, j % SHARDS) for s in specs)
        task = asyncio.create_task(patch(ns, f"cm-{j:03d}"))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    if failures:
        print(f"write failures: {failures}")
    return total, expected, worst_lag


async def driver(args: argparse.Namespace) -> None:
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        async with kubesim_process(Path(tmp) / "kubeconfig") as kubesim:
            server, url = kubesim.process, kubesim.url
            watchers: asyncio.subprocess.Process | None = None
            try:
                print(
                    f"server {url} (pid {server.pid}); baseline RSS {rss_mib(server.pid):.0f} MiB"
                )
                connector = aiohttp.TCPConnector(limit=128)
                async with aiohttp.ClientSession(url, connector=connector) as session:
                    t0 = time.monotonic()
                    configmaps, created = await seed(session, args.objects)
                    seed_s = time.monotonic() - t0
                    print(
                        f"created {created} objects in {NAMESPACES} namespaces in {seed_s:.1f} s "
                        f"({created / seed_s:.0f}/s); RSS {rss_mib(server.pid):.0f} MiB"
                    )
                    async with session.get("/api/v1/configmaps", params={"limit": "1"}) as resp:
                        rv = (await resp.json())["metadata"]["resourceVersion"]
                    specs = watch_specs(rng)
                    spec_file = Path(tmp) / "specs.json"
                    spec_file.write_text(json.dumps(specs))
                    watchers = await asyncio.create_subprocess_exec(
                        sys.executable,
                        __file__,
                        "--watchers-child",
                        url,
                        str(spec_file),
                        rv,
                        stdin=asyncio.subprocess.PIPE,
                        stdout=asyncio.subprocess.PIPE,
                    )
                    assert watchers.stdout is not None
                    assert watchers.stdin is not None
                    ready = await asyncio.wait_for(watchers.stdout.readline(), 120)
                    assert ready.strip() == b"READY", ready
                    async with session.get("/kubesim/stats") as resp:
                        open_watches = (await resp.json())["openWatches"]
                    print(f"{open_watches} watches open; RSS {rss_mib(server.pid):.0f} MiB")
                    writes, expected, lag = await write_load(
                        session,
                        rng,
                        rate=args.rate,
                        seconds=args.seconds,
                        configmaps=configmaps,
                        specs=specs,
                    )
                    print(
                        f"wrote {writes} patches at {args.rate:.0f}/s "
                        f"(worst writer lag {lag * 1000:.1f} ms)"
                    )
                    await asyncio.sleep(2)  # let the last deliveries land
                    print(f"RSS after writes {rss_mib(server.pid):.0f} MiB")
                    async with session.get("/kubesim/stats") as resp:
                        stats = await resp.json()
                    watchers.stdin.write(b"stop\n")
                    await watchers.stdin.drain()
                    result = json.loads(await asyncio.wait_for(watchers.stdout.readline(), 60))
                print(
                    f"deliveries {result['deliveries']} / expected {expected} "
                    f"(watch open errors {result['errors']}, slow watchers dropped "
                    f"{stats['droppedSlowWatches']})"
                )
                print(
                    f"write→watcher latency: p50 {result['p50_ms']:.1f} ms, "
                    f"p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms"
                )
            finally:
                if watchers is not None and watchers.returncode is None:
                    watchers.terminate()
                    await watchers.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--objects", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=200.0, help="writes per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--watchers-child", nargs=3, metavar=("URL", "SPECS", "RV"))
    args = parser.parse_args()
    if args.watchers_child:
        url, spec_file, rv = args.watchers_child
        specs = json.loads(Path(spec_file).read_text())
        asyncio.run(watchers_child(url, specs, rv))
    else:
        asyncio.run(driver(args))


if __name__ == "__main__":
    main()
