"""SingleFlight on its own: shared runs, never a run that started before the caller, a
cancelled caller that cancels nothing else, failures raised to every waiter and logged
once, and an owner's shutdown that waits and then refuses."""

from __future__ import annotations

import asyncio
import logging

import pytest

from catalyst.service.single_flight import SingleFlight

WAIT = 5.0


class GatedWork:
    """Work that counts its runs and can be held at a gate."""

    def __init__(self) -> None:
        self.runs = 0
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    async def __call__(self) -> int:
        self.runs += 1
        run = self.runs
        self.entered.set()
        await asyncio.wait_for(self.gate.wait(), WAIT)
        return run


async def a_run_in_flight(work: GatedWork) -> tuple[SingleFlight[int], asyncio.Task[int]]:
    """A SingleFlight over `work` with one caller whose run has started (held at the gate)."""
    flight = SingleFlight(work, name="test")
    caller = asyncio.create_task(flight.run())
    await asyncio.wait_for(work.entered.wait(), WAIT)
    return flight, caller


async def test_a_failed_refresh_reaches_its_callers_and_the_next_one_retries() -> None:
    calls = 0

    async def flaky() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database went away")
        return calls

    flight = SingleFlight(flaky, name="test")
    with pytest.raises(ConnectionError):
        await flight.run()
    assert await flight.run() == 2
    await flight.aclose()


async def test_callers_during_a_run_share_the_next_run_not_the_current_one() -> None:
    work = GatedWork()
    flight, first = await a_run_in_flight(work)

    later = [asyncio.create_task(flight.run()) for _ in range(5)]
    await asyncio.sleep(0)
    work.gate.set()

    assert await asyncio.wait_for(first, WAIT) == 1
    assert await asyncio.wait_for(asyncio.gather(*later), WAIT) == [2] * 5
    assert work.runs == 2
    await flight.aclose()


async def test_a_cancelled_caller_cancels_neither_the_run_nor_the_others() -> None:
    work = GatedWork()
    flight, leaving = await a_run_in_flight(work)
    await asyncio.sleep(0)  # `leaving` now waits on the run

    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    staying = asyncio.create_task(flight.run())  # queued behind the run still in flight
    work.gate.set()

    assert await asyncio.wait_for(staying, WAIT) == 2
    await flight.aclose()


async def test_a_failure_is_raised_to_every_waiter_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = asyncio.Event()

    async def failing() -> int:
        await asyncio.wait_for(gate.wait(), WAIT)
        raise ConnectionError("database went away")

    flight = SingleFlight(failing, name="test refresh")
    first = asyncio.create_task(flight.run())
    await asyncio.sleep(0)
    queued = [asyncio.create_task(flight.run()) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()

    outcomes = await asyncio.gather(first, *queued, return_exceptions=True)

    assert all(isinstance(o, ConnectionError) for o in outcomes)
    failures = [r for r in caplog.records if r.message == "test refresh failed"]
    assert len(failures) == 2  # the run and the queued run: one log line each
    assert all(r.levelno == logging.ERROR for r in failures)


async def test_aclose_waits_for_the_run_in_flight_then_refuses_new_runs() -> None:
    work = GatedWork()
    flight, caller = await a_run_in_flight(work)

    closing = asyncio.create_task(flight.aclose())
    await asyncio.sleep(0)
    assert not closing.done()
    work.gate.set()
    await asyncio.wait_for(closing, WAIT)

    assert await asyncio.wait_for(caller, WAIT) == 1
    with pytest.raises(RuntimeError, match="closed"):
        await flight.run()
