"""OperationRunner's retries: how an interruption is logged, and prompt resumption when the
cluster answers again (pure scheduling logic: a scripted executor and probe)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from catalyst.service.runner import OperationInterrupted, OperationRunner

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


async def test_waiting_operations_retry_as_soon_as_the_cluster_answers_again(
    stopped_after: list[OperationRunner],
) -> None:
    executor = FailsThenSucceeds(OperationInterrupted("refused"))
    probe = ScriptedProbe(reachable=False)
    runner = await started(
        OperationRunner(
            executor,
            max_concurrency=1,
            sleep=forever,
            cluster_reachable=probe,
            probe_interval=0.01,
        ),
        stopped_after,
    )
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
    runner = await started(
        OperationRunner(
            executor,
            max_concurrency=1,
            sleep=forever,
            cluster_reachable=probe,
            probe_interval=0.01,
        ),
        stopped_after,
    )
    runner.submit(1)
    await probe.wait_for_probes(5)
    assert executor.calls == 1, "retried before its back-off ended"
    assert runner.active == 1
