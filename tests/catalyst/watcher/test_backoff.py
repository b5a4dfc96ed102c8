from __future__ import annotations

import pytest

from catalyst.watcher.backoff import Backoff


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_nominal_delays_double_up_to_the_cap_like_client_go() -> None:
    clock = FakeClock()
    backoff = Backoff(clock=clock, rand=lambda: 0.0)
    delays = [backoff.next_delay() for _ in range(8)]
    assert delays == pytest.approx([0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0])


def test_jitter_keeps_each_sleep_within_d_and_2d() -> None:
    backoff = Backoff(clock=FakeClock(), rand=lambda: 0.999)
    first, second = backoff.next_delay(), backoff.next_delay()
    assert 0.8 <= first < 1.6
    assert 1.6 <= second < 3.2


def test_resets_to_initial_after_a_quiet_period() -> None:
    clock = FakeClock()
    backoff = Backoff(clock=clock, rand=lambda: 0.0)
    for _ in range(5):
        backoff.next_delay()
    clock.now += 121.0
    assert backoff.next_delay() == pytest.approx(0.8)


def test_does_not_reset_within_the_reset_interval() -> None:
    clock = FakeClock()
    backoff = Backoff(clock=clock, rand=lambda: 0.0)
    backoff.next_delay()
    clock.now += 60.0
    assert backoff.next_delay() == pytest.approx(1.6)


def test_rejects_nonsense_parameters() -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(initial=0)
