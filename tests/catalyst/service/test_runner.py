"""OperationRunner: how an interruption is logged, prompt resumption when the cluster answers
again (a scripted executor and probe), and several replicas sharing the work through claims
in a real database (one runs each operation; a dead replica's work is taken over; a driver
whose claim was taken stops)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from catalyst.service.runner import OperationInterrupted, OperationRunner
from catalyst.store.database import Database
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.operation_claims import OperationClaims

WAIT = 10.0


class FailsThenSucceeds:
    """An executor whose environment 1 raises ``errors`` in turn, then has nothing to do."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.called = asyncio.Event()

    async def pending_environment_ids(self) -> list[int]:
        return []

    async def run_pending(self, env_id: int) -> bool:
        self.calls += 1
        self.called.set()
        if self.errors:
            raise self.errors.pop(0)
        return False


class ScriptedProbe:
    """Answers like a cluster that is down until `come_back`, counting every probe."""

    def __init__(self, *, reachable: bool) -> None:
        self.reachable = reachable
        self.probes = 0
        self.probed = asyncio.Condition()

    async def __call__(self) -> None:
        async with self.probed:
            self.probes += 1
            self.probed.notify_all()
        if not self.reachable:
            raise ConnectionRefusedError("cluster down")

    async def wait_for_probes(self, count: int) -> None:
        async with self.probed:
            await asyncio.wait_for(self.probed.wait_for(lambda: self.probes >= count), WAIT)


async def forever(_: float) -> None:
    """A back-off that never ends by itself: only a recovery can end the wait."""
    await asyncio.Event().wait()


@pytest.fixture
async def stopped_after() -> AsyncIterator[list[OperationRunner]]:
    runners: list[OperationRunner] = []
    yield runners
    for runner in runners:
        await runner.stop()


async def started(runner: OperationRunner, runners: list[OperationRunner]) -> OperationRunner:
    runners.append(runner)
    await runner.start()
    return runner


async def test_an_interruption_is_one_warning_line_and_anything_else_an_error(
    caplog: pytest.LogCaptureFixture, stopped_after: list[OperationRunner]
) -> None:
    caplog.set_level(logging.INFO, logger="catalyst.service.runner")
    executor = FailsThenSucceeds(OperationInterrupted("GET /api/v1: refused"), KeyError("bug"))

    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    runner = await started(
        OperationRunner(executor, max_concurrency=1, sleep=no_sleep), stopped_after
    )
    runner.submit(1)
    await asyncio.wait_for(runner.wait_idle(), WAIT)

    assert executor.calls == 3
    (interrupted,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "environment 1: operation interrupted (GET /api/v1: refused)" in interrupted.message
    assert interrupted.exc_info is None
    (failed,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failed.exc_info is not None
    assert failed.exc_info[0] is KeyError


def probed_runner(executor: FailsThenSucceeds, probe: ScriptedProbe) -> OperationRunner:
    """A runner whose back-offs never end by themselves, with ``probe`` as its cluster."""
    return OperationRunner(
        executor, max_concurrency=1, sleep=forever, cluster_reachable=probe, probe_interval=0.01
    )


async def test_waiting_operations_retry_as_soon_as_the_cluster_answers_again(
    stopped_after: list[OperationRunner],
) -> None:
    executor = FailsThenSucceeds(OperationInterrupted("refused"))
    probe = ScriptedProbe(reachable=False)
    runner = await started(probed_runner(executor, probe), stopped_after)
    runner.submit(1)
    await probe.wait_for_probes(2)  # the cluster is down and the operation waits
    assert executor.calls == 1

    probe.reachable = True
    await asyncio.wait_for(runner.wait_idle(), WAIT)
    assert executor.calls == 2


async def test_a_cluster_that_answered_all_along_does_not_cut_the_back_off_short(
    stopped_after: list[OperationRunner],
) -> None:
    """A failure that is not an outage (the probe never saw the cluster down) keeps its
    back-off: retrying it every probe interval would hammer the cluster."""
    executor = FailsThenSucceeds(OperationInterrupted("500 from the server"))
    probe = ScriptedProbe(reachable=True)
    runner = await started(probed_runner(executor, probe), stopped_after)
    runner.submit(1)
    await probe.wait_for_probes(5)
    assert executor.calls == 1, "retried before its back-off ended"
    assert runner.active == 1


# -- several replicas: claims ----------------------------------------------------------------


class RecordsRuns:
    """An executor that records which environments it ran, each once; ``block`` holds a
    run until set (and records a run cancelled meanwhile)."""

    def __init__(self, block: asyncio.Event | None = None) -> None:
        self.block = block
        self.ran: list[int] = []
        self.cancelled: list[int] = []
        self.started = asyncio.Event()

    async def pending_environment_ids(self) -> list[int]:
        return []

    async def run_pending(self, env_id: int) -> bool:
        if env_id in self.ran:
            return False  # done: nothing pending any more
        self.started.set()
        if self.block is not None:
            try:
                await self.block.wait()
            except asyncio.CancelledError:
                self.cancelled.append(env_id)
                raise
        self.ran.append(env_id)
        return True


async def pending_environment(database: Database) -> int:
    record = await EnvironmentRepository(database).create(name="w", chart_name="c", values={})
    return record.id


def replica(
    executor: FailsThenSucceeds | RecordsRuns,
    database: Database,
    holder: str,
    *,
    ttl: float = 15.0,
) -> OperationRunner:
    claims = OperationClaims(database, holder=holder, ttl=timedelta(seconds=ttl))
    return OperationRunner(executor, max_concurrency=1, claims=claims, sweep_interval=0.05)


async def test_an_operation_another_replica_holds_is_left_to_it(
    database: Database, stopped_after: list[OperationRunner]
) -> None:
    env_id = await pending_environment(database)
    holder = OperationClaims(database, holder="replica-a", ttl=timedelta(minutes=5))
    assert await holder.claim(env_id)
    executor = RecordsRuns()
    runner = await started(replica(executor, database, "replica-b"), stopped_after)

    runner.submit(env_id)
    await asyncio.wait_for(runner.wait_idle(), WAIT)
    assert executor.ran == []
    # The sweep does not take a live claim over either.
    assert await holder.pending_unclaimed() == []


async def test_a_replica_takes_over_the_operation_of_one_that_died(
    database: Database, stopped_after: list[OperationRunner]
) -> None:
    env_id = await pending_environment(database)
    # replica-a claimed it and died: its claim is never renewed and expires after 1 s.
    assert await OperationClaims(database, holder="replica-a", ttl=timedelta(seconds=1)).claim(
        env_id
    )
    executor = RecordsRuns()
    await started(replica(executor, database, "replica-b"), stopped_after)

    await asyncio.wait_for(executor.started.wait(), WAIT)
    assert executor.ran == [env_id]


async def test_a_driver_that_lost_its_claim_stops(
    database: Database, stopped_after: list[OperationRunner]
) -> None:
    env_id = await pending_environment(database)
    executor = RecordsRuns(block=asyncio.Event())
    runner = await started(replica(executor, database, "replica-a", ttl=1.0), stopped_after)
    runner.submit(env_id)
    await asyncio.wait_for(executor.started.wait(), WAIT)

    # Another replica took the operation over (as after replica-a's claim had expired).
    await OperationClaims(database, holder="replica-a", ttl=timedelta(seconds=1)).release(env_id)
    assert await OperationClaims(database, holder="replica-b", ttl=timedelta(minutes=5)).claim(
        env_id
    )

    await asyncio.wait_for(runner.wait_idle(), WAIT)
    assert executor.cancelled == [env_id]
    assert executor.ran == []


async def test_a_replica_cut_off_from_the_cluster_leaves_the_operation_to_another(
    database: Database, stopped_after: list[OperationRunner]
) -> None:
    env_id = await pending_environment(database)
    cut_off = FailsThenSucceeds(*[OperationInterrupted("connection refused")] * 100)
    a = OperationRunner(
        cut_off,
        max_concurrency=1,
        sleep=forever,  # its back-off would never end
        claims=OperationClaims(database, holder="replica-a", ttl=timedelta(seconds=15)),
        sweep_interval=3600,
    )
    await started(a, stopped_after)
    a.submit(env_id)
    await asyncio.wait_for(cut_off.called.wait(), WAIT)

    executor = RecordsRuns()
    await started(replica(executor, database, "replica-b"), stopped_after)
    await asyncio.wait_for(executor.started.wait(), WAIT)
    assert executor.ran == [env_id]
    assert cut_off.calls == 1


async def test_a_recovery_before_the_probe_first_asks_still_ends_the_wait(
    stopped_after: list[OperationRunner],
) -> None:
    """The operation saw the cluster not answering; the cluster is back before the probe
    (a new one per wait) first asks: the wait still ends at once."""
    executor = FailsThenSucceeds(OperationInterrupted("connection refused", unreachable=True))
    probe = ScriptedProbe(reachable=True)
    runner = await started(probed_runner(executor, probe), stopped_after)
    runner.submit(1)
    await asyncio.wait_for(runner.wait_idle(), WAIT)
    assert executor.calls == 2
