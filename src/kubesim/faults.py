"""Fault injection and request accounting for reliability tests.

`Faults` is shared by the HTTP layer and by Python callers (``sim.faults``):

* ``throttle(qps, burst)``: a token bucket in front of every non-watch
  Kubernetes API request; a request that finds the bucket empty gets the APF
  overload answer (429, ``Retry-After: 1``, plain-text body; B23).
  ``unthrottle()`` lifts it. Watches are never throttled, as with APF.
* ``pause()`` / ``resume()``: while paused the Kubernetes API answers 503
  ServiceUnavailable and every open watch is closed; the ``/kubesim/*`` control
  paths keep working so a test can resume the server.
* ``close_watches()`` and ``compact()`` act on the watch hub at once.
* counters of requests by verb and resource for ``GET /kubesim/stats``.

The bucket uses the loop's monotonic clock; it is not thread-safe (everything
runs on the event loop).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from kubesim.watch import WatchHub


@dataclass
class TokenBucket:
    """Starts full with ``burst`` tokens, refills at ``qps`` tokens per second."""

    qps: float
    burst: int
    tokens: float = field(init=False)
    updated: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)
        self.updated = time.monotonic()

    def try_take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.qps)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Faults:
    """Switchable faults plus request counters."""

    def __init__(self, hub: WatchHub) -> None:
        self._hub = hub
        self._bucket: TokenBucket | None = None
        self.paused = False
        self.requests: Counter[tuple[str, str]] = Counter()
        self.throttled = 0

    # --------------------------------------------------------------- faults

    def throttle(self, qps: float, burst: int) -> None:
        if qps < 0 or burst < 0:
            raise ValueError("qps and burst must be >= 0")
        self._bucket = TokenBucket(qps=qps, burst=burst)

    def unthrottle(self) -> None:
        self._bucket = None

    @property
    def throttling(self) -> bool:
        return self._bucket is not None

    def admit(self) -> bool:
        """True if a non-watch request may proceed now (takes a token)."""
        if self._bucket is None or self._bucket.try_take():
            return True
        self.throttled += 1
        return False

    def pause(self) -> int:
        """Go down: API answers 503 and every open watch ends. Returns watches closed."""
        self.paused = True
        return self._hub.close_all("server paused")

    def resume(self) -> None:
        self.paused = False

    def close_watches(self) -> int:
        return self._hub.close_all("closed by /kubesim/watches/close")

    def compact(self) -> int:
        """Drop the event history; returns the new compacted RV."""
        self._hub.compact()
        return self._hub.compacted_rv

    # -------------------------------------------------------------- counters

    def count(self, verb: str, resource: str) -> None:
        self.requests[(verb, resource)] += 1

    def request_stats(self) -> dict[str, dict[str, int]]:
        by_verb: dict[str, dict[str, int]] = {}
        for (verb, resource), n in sorted(self.requests.items()):
            by_verb.setdefault(verb, {})[resource] = n
        return by_verb
