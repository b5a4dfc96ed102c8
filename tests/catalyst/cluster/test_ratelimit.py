"""The client-side token bucket (k8s-semantics A19), driven by a hand-moved clock."""

from __future__ import annotations

import asyncio

import pytest

from catalyst.cluster.ratelimit import DEFAULT_BURST, DEFAULT_QPS, TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def bucket(qps: float, burst: int, time: FakeTime) -> TokenBucket:
    return TokenBucket(qps, burst, clock=time.clock, sleep=time.sleep)


def test_catalyst_defaults_are_higher_than_client_go() -> None:
    assert (DEFAULT_QPS, DEFAULT_BURST) == (50.0, 100)


async def test_starts_full_with_burst_tokens() -> None:
    time = FakeTime()
    limiter = bucket(5, 10, time)
    waits = [await limiter.acquire() for _ in range(10)]
    assert waits == [0.0] * 10
    assert time.sleeps == []


async def test_waits_for_refill_at_qps_once_empty() -> None:
    time = FakeTime()
    limiter = bucket(5, 10, time)
    for _ in range(10):
        await limiter.acquire()
    assert await limiter.acquire() == pytest.approx(0.2)
    assert await limiter.acquire() == pytest.approx(0.2)
    assert time.sleeps == [pytest.approx(0.2), pytest.approx(0.2)]


async def test_refill_never_exceeds_burst() -> None:
    time = FakeTime()
    limiter = bucket(5, 2, time)
    await limiter.acquire()
    await limiter.acquire()
    time.now += 3600
    assert [await limiter.acquire() for _ in range(2)] == [0.0, 0.0]
    assert await limiter.acquire() == pytest.approx(0.2)


def test_concurrent_reservations_queue_in_arrival_order() -> None:
    time = FakeTime()
    limiter = bucket(10, 1, time)
    assert [limiter.reserve() for _ in range(4)] == [
        0.0,
        pytest.approx(0.1),
        pytest.approx(0.2),
        pytest.approx(0.3),
    ]


async def test_cancelled_waiter_gives_its_token_back() -> None:
    time = FakeTime()
    started = asyncio.Event()

    async def never_wakes(_: float) -> None:
        started.set()
        await asyncio.Event().wait()

    limiter = TokenBucket(10, 1, clock=time.clock, sleep=never_wakes)
    await limiter.acquire()  # empties the bucket
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.wait_for(started.wait(), 5)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    # The debt of the cancelled waiter is gone: the next caller waits one interval, not two.
    assert limiter.reserve() == pytest.approx(0.1)


async def test_zero_qps_disables_limiting() -> None:
    time = FakeTime()
    limiter = bucket(0, 0, time)
    assert [await limiter.acquire() for _ in range(1000)] == [0.0] * 1000


def test_positive_qps_needs_a_burst() -> None:
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(5, 0)
