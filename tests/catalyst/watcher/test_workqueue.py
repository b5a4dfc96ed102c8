"""The work queue on its own: coalescing, first-added order, never two workers on one key,
delayed adds that replace each other, and the wake-ups workers wait for."""

from __future__ import annotations

import asyncio

from catalyst.watcher.workqueue import WorkQueue

WAIT = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def until_queued(queue: WorkQueue[int], count: int) -> None:
    """Wait (on the queue's own wake-ups) until `count` keys are queued."""

    async def loop() -> None:
        while len(queue) < count:
            await queue.wait()

    await asyncio.wait_for(loop(), WAIT)


def the_only_key(queue: WorkQueue[int]) -> int:
    """Take the one queued key, checking that nothing else was queued."""
    item = queue.take()
    assert item is not None
    assert len(queue) == 0
    return item[0]


async def test_adds_before_a_take_coalesce_and_keep_the_first_time() -> None:
    clock = Clock()
    queue: WorkQueue[int] = WorkQueue(clock=clock)
    queue.add(7)
    clock.now += 1
    queue.add(7)
    queue.add(7)

    assert len(queue) == 1
    assert queue.take() == (7, 100.0)
    assert queue.take() is None


async def test_keys_come_out_in_first_added_order() -> None:
    queue: WorkQueue[int] = WorkQueue()
    for key in (3, 1, 2, 1, 3):
        queue.add(key)

    taken = [queue.take(), queue.take(), queue.take()]

    assert [item[0] for item in taken if item is not None] == [3, 1, 2]


async def test_a_key_being_processed_is_not_handed_out_until_done() -> None:
    clock = Clock()
    queue: WorkQueue[int] = WorkQueue(clock=clock)
    queue.add(1)
    queue.add(2)
    assert queue.take() == (1, 100.0)

    clock.now = 105.0
    queue.add(1)  # changed again while a worker evaluates it
    assert queue.take() == (2, 100.0)
    assert queue.take() is None
    assert not queue.is_idle()

    queue.done(1)
    assert queue.take() == (1, 105.0)
    queue.done(1)
    queue.done(2)
    assert queue.is_idle()


async def test_done_of_a_key_added_again_wakes_a_waiting_worker() -> None:
    queue: WorkQueue[int] = WorkQueue()
    queue.add(1)
    assert queue.take() is not None
    queue.add(1)
    assert queue.take() is None  # skipped: still being processed
    waiting = asyncio.create_task(queue.wait())
    await asyncio.sleep(0)
    assert not waiting.done()

    queue.done(1)

    await asyncio.wait_for(waiting, WAIT)
    assert queue.take() is not None


async def test_done_of_a_key_not_added_again_wakes_nobody() -> None:
    queue: WorkQueue[int] = WorkQueue()
    queue.add(1)
    assert queue.take() is not None
    waiting = asyncio.create_task(queue.wait())
    await asyncio.sleep(0)

    queue.done(1)
    await asyncio.sleep(0)

    assert not waiting.done()
    queue.wake()  # a condition outside the queue
    await asyncio.wait_for(waiting, WAIT)


async def test_an_add_wakes_every_waiting_worker() -> None:
    queue: WorkQueue[int] = WorkQueue()
    workers = [asyncio.create_task(queue.wait()) for _ in range(3)]
    await asyncio.sleep(0)

    queue.add(1)

    await asyncio.wait_for(asyncio.gather(*workers), WAIT)
    assert queue.take() is not None
    assert queue.take() is None


async def test_a_delayed_add_arrives_with_the_time_it_fired() -> None:
    clock = Clock()
    queue: WorkQueue[int] = WorkQueue(clock=clock)
    queue.add_after(4, 0.0)
    clock.now = 130.0
    assert len(queue) == 0

    await until_queued(queue, 1)

    assert queue.take() == (4, 130.0)


async def test_a_delayed_add_replaces_the_keys_pending_one() -> None:
    queue: WorkQueue[int] = WorkQueue()
    queue.add_after(1, 0.0)
    queue.add_after(1, 3600.0)  # replaces the immediate one
    queue.add_after(2, 0.01)  # fires after the replaced one would have

    await until_queued(queue, 1)

    assert the_only_key(queue) == 2
    queue.cancel_all_delayed()


async def test_cancelled_delayed_adds_never_arrive() -> None:
    queue: WorkQueue[int] = WorkQueue()
    queue.add_after(1, 0.0)
    queue.add_after(2, 0.0)
    queue.add_after(3, 0.0)
    queue.cancel_delayed(1)
    queue.cancel_all_delayed()
    queue.add_after(4, 0.01)  # fires after the cancelled ones would have

    await until_queued(queue, 1)

    assert the_only_key(queue) == 4


async def test_cancelling_a_delayed_add_leaves_a_queued_key_queued() -> None:
    queue: WorkQueue[int] = WorkQueue()
    queue.add(1)
    queue.add_after(1, 3600.0)

    queue.cancel_delayed(1)

    assert queue.take() is not None
