"""Cron schedule parsing and the CronJob controller (driven by an injected clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubesim.sim import Simulator
from kubesim.sim.clock import Clock
from kubesim.sim.cron import CronError, parse_schedule
from kubesim.sim.objects import CRONJOB, JOB
from kubesim.sim.rules import Rules
from kubesim.store import Store
from tests.support.sim_objects import pod_template
from tests.support.waiting import StoreWaiter

AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # a Saturday


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("* * * * *", datetime(2026, 11, 28, 12, 1, tzinfo=UTC)),
        ("*/15 9-17 * * mon-fri", datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),
        ("30 2 1 * *", datetime(2026, 12, 1, 2, 30, tzinfo=UTC)),
        ("0 0 29 2 *", datetime(2028, 2, 29, 0, 0, tzinfo=UTC)),
        ("@hourly", datetime(2026, 11, 28, 13, 0, tzinfo=UTC)),
        ("0 0 1 jan *", datetime(2027, 1, 1, tzinfo=UTC)),
        ("0 12 13 * 5", datetime(2026, 12, 4, 12, 0, tzinfo=UTC)),  # dom OR dow
        ("0 0 * * 7", datetime(2026, 11, 29, tzinfo=UTC)),  # 7 is Sunday
    ],
)
def test_next_after(schedule: str, expected: datetime) -> None:
    assert parse_schedule(schedule).next_after(AT) == expected


@pytest.mark.parametrize(
    "bad", ["* * * *", "60 * * * *", "*/0 * * * *", "a * * * *", "TZ=UTC * * * * *"]
)
def test_bad_schedules(bad: str) -> None:
    with pytest.raises(CronError):
        parse_schedule(bad)


class ShiftedClock(Clock):
    def __init__(self, offset: float) -> None:
        self.offset = offset

    def monotonic(self) -> float:
        return super().monotonic() + self.offset

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=self.offset)


def cronjob(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schedule": "* * * * *",
        "jobTemplate": {
            "metadata": {"labels": {"app": "tick"}},
            "spec": {"template": pod_template("tick", restart_policy="Never")},
        },
    }
    body.update(spec)
    return {"metadata": {"name": "tick", "namespace": "ns"}, "spec": body}


async def test_cronjob_runs_missed_and_next_schedule(
    store: Store, rules: Rules, waiter: StoreWaiter
) -> None:
    # Shift the simulator's clock so "now" is 0.3 s before a minute boundary that lies
    # minutes after the CronJob's real creation time: one missed run starts at once and
    # the next starts when that boundary passes.
    real = datetime.now(UTC)
    boundary = real.replace(second=0, microsecond=0) + timedelta(minutes=3)
    clock = ShiftedClock((boundary - real).total_seconds() - 0.3)
    sim = Simulator(store, rules, clock=clock)
    await sim.start()
    try:
        store.create(CRONJOB, cronjob())
        await waiter.until(lambda: len(store.list(JOB, "ns")) >= 2, limit=5)
        names = sorted(j["metadata"]["name"] for j in store.list(JOB, "ns"))
        minute = int(boundary.timestamp() // 60)
        assert names == [f"tick-{minute - 1}", f"tick-{minute}"]
        job = store.get(JOB, "ns", f"tick-{minute}")
        assert job is not None
        assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
        assert job["metadata"]["labels"] == {"app": "tick"}
        assert job["metadata"]["annotations"][
            "batch.kubernetes.io/cronjob-scheduled-timestamp"
        ] == boundary.strftime("%Y-%m-%dT%H:%M:%SZ")

        def settled() -> bool:
            cj = store.get(CRONJOB, "ns", "tick")
            s = (cj or {}).get("status") or {}
            return (
                s.get("lastScheduleTime") == boundary.strftime("%Y-%m-%dT%H:%M:%SZ")
                and "lastSuccessfulTime" in s
                and "active" not in s
            )

        await waiter.until(settled, limit=5)
    finally:
        await sim.stop()


async def test_suspended_or_unparseable_cronjob_creates_nothing(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(CRONJOB, cronjob(suspend=True))
    bad = cronjob(schedule="not a schedule")
    bad["metadata"]["name"] = "broken"
    store.create(CRONJOB, bad)
    controller = next(c for c in sim.controllers if c.name == "cronjob-controller")
    assert controller.reconcile(("ns", "tick")) is not None  # timer armed for the next minute
    assert controller.reconcile(("ns", "broken")) is None
    assert store.list(JOB, "ns") == []
