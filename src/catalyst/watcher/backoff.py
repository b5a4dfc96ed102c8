"""Exponential backoff with jitter and reset, as client-go's reflector uses it.

Defaults are client-go's (k8s-semantics A7): the nominal delay starts at 0.8 s and doubles
up to 30 s; each sleep is ``d + U(0, 1) * jitter * d``, so it lies in ``[d, 2d)`` with the
default jitter of 1.0. When more than ``reset_after`` seconds have passed since the last
reset, the next step starts again from the initial delay, so a watch that ran fine for a
while and then failed does not inherit the long delays of an earlier outage.

The clock and the random source are injectable so tests need no sleeping.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """Stateful delay generator. Call :meth:`next_delay` before each retry."""

    initial: float = 0.8
    factor: float = 2.0
    jitter: float = 1.0
    cap: float = 30.0
    reset_after: float = 120.0
    clock: Callable[[], float] = time.monotonic
    rand: Callable[[], float] = random.random
    _nominal: float = field(init=False)
    _last_reset: float = field(init=False)

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.factor < 1 or self.cap < self.initial:
            raise ValueError("backoff needs 0 < initial <= cap and factor >= 1")
        self._nominal = self.initial
        self._last_reset = self.clock()

    def next_delay(self) -> float:
        """The next sleep in seconds; advances the nominal delay."""
        now = self.clock()
        if now - self._last_reset > self.reset_after:
            self.reset()
        delay = self._nominal
        self._nominal = min(self._nominal * self.factor, self.cap)
        return delay + self.jitter * self.rand() * delay

    def reset(self) -> None:
        """Start again from the initial delay (after a period of health)."""
        self._nominal = self.initial
        self._last_reset = self.clock()
