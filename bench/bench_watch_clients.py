"""1,000 watch clients: a status change → every client, latency and memory per client.

Two processes, so the measuring clients never run on the service's event loop:

* the service: ``catalyst serve`` with its embedded defaults (kubesim in process, SQLite file
  in a temporary data directory, or ``--database-url``);
* the driver (this process): ``--clients`` watch clients (default 1,000) on raw asyncio
  sockets (one HTTP/1.1 ``GET /api/environments?watch=1`` each, admin token, the stream
  read line by line), and the writer of the changes.

Set-up: the driver writes ``--environments`` (default 10) environment records and an admin
token straight into the database, starts the service, and waits until the outbox has been
quiet for 2 s (the service's watcher settles those records: no chart, no cluster objects).
One warm-up watch starts the service's feed poller; then the service's RSS is read
(``/proc/<pid>/status``), the clients connect (100 at a time) and each waits for its SYNCED
event, and the RSS is read again: (after - before) / clients is the memory per client
(connection, request, watch generator and response tasks, socket buffers in user space).

Changes: ``--changes`` (default 30), one every ``--interval`` seconds (default 1), each a
status change written into the database through `EnvironmentRepository.record_status_change`
(the row and its outbox row in one transaction), as ``POST .../keep`` writes it: the
expiry moves and the status stays (the service's watcher, which settled the records as
``failed``, has nothing to correct, so each change is exactly one outbox row), the row's
reason is ``BenchN``; a write that loses a race with the service's watcher is retried.
Latency is from just before the write (wall clock, so it includes the write) to the moment
each client reads the event's ``data`` line; reported over every (client, change) pair as
p50/p99/max (target: p99 ≤ 250 ms), plus the time until the last client has each change,
and pairs that never arrived within ``--give-up`` seconds.

Also printed: the CPU time the service and this process used while the changes ran (the
service's includes its background work: watcher, poller, heartbeats), per delivery.

Usage: ``.venv/bin/python bench/bench_watch_clients.py [--clients 1000] [--changes 30]
[--interval 1.0] [--database-url URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from catalyst.service.tokens import TokenService
from catalyst.store.database import Database, sqlite_url_for
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.errors import StaleRecord
from catalyst.store.tokens import TokenRepository
from catalyst.timestamps import utc_now
from child_output import drain, first_line

START_TIMEOUT = 120.0
CONNECT_BATCH = 100
REASON = re.compile(rb'"statusReason":"Bench(\d+)"')


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))
    return sorted_values[index]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def seed(database_url: str, count: int) -> tuple[list[int], str]:
    database = Database(database_url)
    await database.connect()
    try:
        repository = EnvironmentRepository(database)
        ids = []
        for n in range(count):
            record = await repository.create(name=f"watched-{n:03d}", chart_name="bench", values={})
            ids.append(record.id)
        token = await TokenService(TokenRepository(database)).create("bench", admin=True)
    finally:
        await database.close()
    return ids, token.token


async def wait_until_quiet(repository: EnvironmentRepository, quiet: float = 2.0) -> None:
    """Until no outbox row was added for ``quiet`` seconds (bounded by START_TIMEOUT)."""
    deadline = time.monotonic() + START_TIMEOUT
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        position = await repository.latest_change_position()
        if position != last:
            last, since = position, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        await asyncio.sleep(0.2)


class Clients:
    """Watch clients on raw sockets; ``arrivals[n]`` holds when each client read change n."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self._host, self._port = host, port
        self._request = (
            "GET /api/environments?watch=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: ApiToken {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
        self.arrivals: dict[int, list[float]] = defaultdict(list)
        self.tasks: list[asyncio.Task[None]] = []
        self.ended = 0
        self.expected: tuple[int, int] = (0, 0)
        """(changes, clients): ``complete`` is set once every client has every change."""
        self.complete = asyncio.Event()
        self._changes_complete = 0

    async def connect(self) -> None:
        """One more client; returns once its stream has shown SYNCED."""
        synced = asyncio.get_running_loop().create_future()
        self.tasks.append(asyncio.create_task(self._client(synced)))
        await synced

    async def _client(self, synced: asyncio.Future[None]) -> None:
        reader, writer = await asyncio.open_connection(self._host, self._port)
        try:
            writer.write(self._request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace"))
            arrivals = self.arrivals
            while line := await reader.readline():
                if line.startswith(b"data:"):
                    found = REASON.search(line)
                    if found is not None:
                        times = arrivals[int(found.group(1))]
                        times.append(time.time())
                        if len(times) == self.expected[1]:
                            self._changes_complete += 1
                            if self._changes_complete == self.expected[0]:
                                self.complete.set()
                elif line.startswith(b"event: SYNCED") and not synced.done():
                    synced.set_result(None)
            self.ended += 1
        except Exception as exc:
            if not synced.done():
                synced.set_exception(exc)
            raise
        finally:
            writer.close()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def write_changes(
    repository: EnvironmentRepository, ids: list[int], count: int, interval: float
) -> dict[int, float]:
    """``count`` status changes, one every ``interval`` s; when each write started."""
    started: dict[int, float] = {}
    next_at = time.monotonic()
    for n in range(count):
        next_at += interval
        env_id = ids[n % len(ids)]
        while True:
            record = await repository.get(env_id)
            assert record is not None
            started[n] = time.time()
            try:
                # What "keep" does (POST .../keep): the expiry moves, the status stays,
                # so the service's watcher has nothing to correct; the row's reason is
                # the marker the clients look for.
                await repository.record_status_change(
                    env_id,
                    expected_version=record.version,
                    source="api",
                    history_reason=f"Bench{n}",
                    history_message="",
                    expires_at=utc_now() + timedelta(days=1, seconds=n),
                )
                break
            except StaleRecord:
                continue  # the service's watcher wrote first: try again
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    return started


async def run(args: argparse.Namespace) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 4 * args.clients + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))  # the service inherits it

    workdir = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    database_url = args.database_url or sqlite_url_for(workdir)
    ids, token = await seed(database_url, args.environments)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALYST_")}
    env.update(
        CATALYST_DATA_DIR=str(workdir),
        CATALYST_DATABASE_URL=database_url,
        CATALYST_LOG_LEVEL="WARNING",
        CATALYST_SSE_HEARTBEAT_SECONDS="60",
    )
    log = (workdir / "catalyst.log").open("wb")
    service = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "catalyst.cli", "serve", "--port", "0",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=log,
    )  # fmt: skip
    database = Database(database_url)
    clients: Clients | None = None
    drainer: asyncio.Task[None] | None = None
    try:
        line = await asyncio.wait_for(first_line(service, "Catalyst API: "), START_TIMEOUT)
        drainer = asyncio.create_task(drain(service.stdout))
        url = urlsplit(line.split()[2])
        assert url.hostname is not None
        assert url.port is not None
        await database.connect()
        repository = EnvironmentRepository(database)
        await wait_until_quiet(repository)

        clients = Clients(url.hostname, url.port, token)
        await clients.connect()  # warm-up: starts the service's feed poller
        gc.collect()
        before = rss_kib(service.pid)
        t = time.monotonic()
        for start in range(0, args.clients, CONNECT_BATCH):
            batch = min(CONNECT_BATCH, args.clients - start)
            await asyncio.gather(*(clients.connect() for _ in range(batch)))
        connect_s = time.monotonic() - t
        await asyncio.sleep(1.0)  # let the service finish the connections' bookkeeping
        after_connect = rss_kib(service.pid)
        print(
            f"{args.clients} clients connected and SYNCED in {connect_s:.1f}s; service (pid"
            f" {service.pid}) RSS"
            f" {before / 1024:.1f} MiB → {after_connect / 1024:.1f} MiB:"
            f" {(after_connect - before) * 1024 / args.clients / 1024:.1f} KiB per client",
            flush=True,
        )

        watching = args.clients + 1
        clients.expected = (args.changes, watching)
        first_row = await repository.latest_change_position()
        cpu_before = cpu_seconds(service.pid), time.process_time()
        started = await write_changes(repository, ids, args.changes, args.interval)
        try:
            await asyncio.wait_for(clients.complete.wait(), args.give_up)
        except TimeoutError:
            pass  # counted below as never arrived
        after_changes = rss_kib(service.pid)
        rows = await repository.latest_change_position() - first_row
        service_cpu = cpu_seconds(service.pid) - cpu_before[0]
        driver_cpu = time.process_time() - cpu_before[1]

        latencies: list[float] = []
        last_client: list[float] = []
        missing = 0
        for n, began in started.items():
            times = clients.arrivals[n]
            missing += watching - len(times)
            latencies.extend(arrived - began for arrived in times)
            if times:
                last_client.append(max(times) - began)
        latencies.sort()
        last_client.sort()

        def ms(values: list[float], q: float) -> str:
            return f"{percentile(values, q) * 1000:.0f}"

        print(
            f"change → each client ({len(latencies)} deliveries, {args.changes} changes x"
            f" {watching} clients): p50 {ms(latencies, 0.5)} ms, p99 {ms(latencies, 0.99)}"
            f" ms, max {ms(latencies, 1.0)} ms (target p99 ≤ 250 ms)"
        )
        print(
            f"change → last client: p50 {ms(last_client, 0.5)} ms, p90"
            f" {ms(last_client, 0.9)} ms, p99"
            f" {ms(last_client, 0.99)} ms, max {ms(last_client, 1.0)} ms"
        )
        print(
            f"never arrived: {missing}; outbox rows written meanwhile: {rows};"
            f" streams ended by the service: {clients.ended};"
            f" service RSS after the changes {after_changes / 1024:.1f} MiB"
        )
        deliveries = args.changes * watching
        print(
            f"CPU during the changes: service {service_cpu:.1f}s"
            f" ({service_cpu / deliveries * 1e6:.0f} µs per delivery), driver and clients"
            f" {driver_cpu:.1f}s ({driver_cpu / deliveries * 1e6:.0f} µs per delivery)"
        )
    finally:
        if clients is not None:
            await clients.close()
        await database.close()
        if service.returncode is None:
            service.terminate()
            await asyncio.wait_for(service.wait(), 60)
        if drainer is not None:
            await drainer
        log.close()
        if args.keep:
            print(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--environments", type=int, default=10)
    parser.add_argument("--changes", type=int, default=30)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--give-up", type=float, default=30.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
