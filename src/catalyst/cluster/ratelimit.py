"""Client-side token-bucket rate limiter for requests to the API server (k8s-semantics A19).

Behaviour, like client-go's ``flowcontrol.NewTokenBucketRateLimiter``:

- The bucket starts full with ``burst`` tokens and refills continuously at ``qps`` tokens per
  second, never above ``burst``. Each request takes one token; when none is left the caller
  waits until its token has been refilled.
- Waiters are served in arrival order: :meth:`TokenBucket.acquire` *reserves* its token
  synchronously (the balance may go negative) and then sleeps for the time the debt takes
  to refill. No lock is needed because the reservation runs without yielding.
- A waiter that is cancelled while sleeping hands its token back, so cancelled requests do
  not slow down the ones behind them for good.
- ``qps <= 0`` disables limiting (every acquire returns at once).

Defaults: client-go uses qps=5 / burst=10, which is what made listing environments slow
in production (many small requests queued behind the limiter). Catalyst talks to one
cluster it owns namespaces in, and its steady-state traffic is watches (never limited), so
its defaults are ten times higher: :data:`DEFAULT_QPS` = 50, :data:`DEFAULT_BURST` = 100.
The limiter still protects the API server from a burst of deploys.

Waits over 50 ms are logged at debug level and waits over 1 s at warning level, mirroring
client-go's "client-side throttling, not priority and fairness" messages.

The clock and the sleep function are injectable so tests can drive time by hand.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

DEFAULT_QPS = 50.0
DEFAULT_BURST = 100

_LOG_WAIT_OVER = 0.05
_WARN_WAIT_OVER = 1.0


class TokenBucket:
    """Token bucket: ``burst`` capacity, refilled at ``qps`` tokens per second."""

    def __init__(
        self,
        qps: float = DEFAULT_QPS,
        burst: int = DEFAULT_BURST,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if qps > 0 and burst < 1:
            raise ValueError("burst must be at least 1 when qps is positive")
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()

    @property
    def enabled(self) -> bool:
        return self.qps > 0

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.qps)
        self._updated = now

    def reserve(self) -> float:
        """Take one token now and return how long the caller must wait before using it."""
        if not self.enabled:
            return 0.0
        self._refill()
        self._tokens -= 1.0
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.qps

    def give_back(self) -> None:
        """Return a reserved token that will not be used (its request was cancelled)."""
        if not self.enabled:
            return
        self._refill()
        self._tokens = min(float(self.burst), self._tokens + 1.0)

    async def acquire(self) -> float:
        """Wait for a token; returns the seconds waited (0.0 when one was available)."""
        wait = self.reserve()
        if wait <= 0:
            return 0.0
        if wait > _WARN_WAIT_OVER:
            logger.warning("client-side throttling, not priority and fairness: waiting %.2fs", wait)
        elif wait > _LOG_WAIT_OVER:
            logger.debug("client-side throttling, not priority and fairness: waiting %.3fs", wait)
        try:
            await self._sleep(wait)
        except asyncio.CancelledError:
            self.give_back()
            raise
        return wait
