"""The controllers' work queue: dedup, failure isolation, stop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from kubesim.controllers.workqueue import WorkQueue


async def test_duplicates_coalesce_and_failures_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []

    def process(item: str) -> None:
        seen.append(item)
        if item == "bad":
            raise RuntimeError("boom")

    queue: WorkQueue[str] = WorkQueue("test-queue", process)
    queue.add("a")
    queue.add("bad")
    queue.add("a")
    with caplog.at_level(logging.ERROR):
        queue.start()
        await asyncio.wait_for(queue.wait_idle(), timeout=5)
        queue.add("b")  # the worker survived the failure
        await asyncio.wait_for(queue.wait_idle(), timeout=5)
    await queue.stop()
    assert seen == ["a", "bad", "b"]
    assert any("failed to process 'bad'" in r.getMessage() for r in caplog.records)


async def test_item_readded_while_processing_runs_again() -> None:
    seen: list[int] = []
    queue: WorkQueue[int] = WorkQueue("requeue", lambda i: None)

    def process(item: int) -> None:
        seen.append(item)
        if len(seen) == 1:
            queue.add(item)

    queue._process = process
    queue.add(1)
    queue.start()
    await asyncio.wait_for(queue.wait_idle(), timeout=5)
    await queue.stop()
    assert seen == [1, 1]


class Fatal(BaseException):
    """Escapes ``except Exception`` and so kills the worker task itself."""


async def test_a_dead_worker_is_logged_and_restarted(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    def process(item: str) -> None:
        seen.append(item)
        if item == "die":
            raise Fatal()

    queue: WorkQueue[str] = WorkQueue("phoenix", process)
    with caplog.at_level(logging.ERROR):
        queue.start()
        queue.add("die")
        queue.add("after")
        await asyncio.wait_for(queue.wait_idle(), timeout=5)
    assert queue.running
    await queue.stop()
    assert not queue.running
    assert seen == ["die", "after"]
    assert any("phoenix worker stopped unexpectedly" in r.getMessage() for r in caplog.records)


async def test_worker_yields_to_the_loop_every_n_items() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    seen: list[int] = []
    queue: WorkQueue[int] = WorkQueue("batches", lambda _: seen.append(ticks), yield_every=2)
    for item in range(4):
        queue.add(item)
    queue.start()
    other = asyncio.get_running_loop().create_task(ticker())
    try:
        await asyncio.wait_for(queue.wait_idle(), timeout=5)
    finally:
        other.cancel()
        await queue.stop()
    # Two items per turn of the loop: the ticker only runs between the pairs.
    assert seen[0] == seen[1] < seen[2] == seen[3]


async def test_stop_drops_queued_items_and_start_again_works() -> None:
    seen: list[str] = []
    queue: WorkQueue[str] = WorkQueue("restartable", seen.append)
    queue.add("early")  # queued before start: processed once started
    queue.start()
    queue.start()  # idempotent: still one worker
    await asyncio.wait_for(queue.wait_idle(), timeout=5)
    queue.add("dropped")  # the worker has not run since: stop drops it
    await queue.stop()
    await asyncio.wait_for(queue.wait_idle(), timeout=5)  # stopped means idle
    queue.start()
    queue.add("late")
    await asyncio.wait_for(queue.wait_idle(), timeout=5)
    await queue.stop()
    assert seen == ["early", "late"]


def test_yield_every_must_be_positive() -> None:
    with pytest.raises(ValueError, match="yield_every"):
        WorkQueue("bad", lambda _: None, yield_every=0)
