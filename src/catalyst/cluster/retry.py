"""When and how long to wait before re-sending a request the server throttled (k8s-semantics A20).

The rule, as in client-go's ``rest/with_retry.go``:

- A response is retried only when its status is **429 or any 5xx** *and* it carries an
  **integer** ``Retry-After`` header (seconds). A 503 without ``Retry-After`` is an error at
  once: the server gave no hint that waiting helps.
- At most :data:`MAX_RETRIES` (10) retries per request; after that the last error is raised.
- The wait is the ``Retry-After`` value (client-go's URL backoff is 0 unless configured, so
  it adds nothing). :data:`MAX_RETRY_AFTER` caps absurd values so one bad header cannot park
  a request for an hour.
- Each retry passes the client-side rate limiter again (the caller's job; see
  :mod:`catalyst.cluster.client`).

The APF flow schema that throttled the request (``X-Kubernetes-PF-FlowSchema-UID``) is
reported in the log line, like client-go records it as the retry reason.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

logger = logging.getLogger(__name__)

MAX_RETRIES = 10
MAX_RETRY_AFTER = 60.0

FLOW_SCHEMA_HEADER = "X-Kubernetes-PF-FlowSchema-UID"


def is_retryable_status(status: int) -> bool:
    """429 Too Many Requests or any server error."""
    return status == 429 or 500 <= status <= 599


def retry_after_seconds(status: int, headers: Mapping[str, str]) -> float | None:
    """Seconds to wait before retrying, or ``None`` when the response must not be retried."""
    if not is_retryable_status(status):
        return None
    raw = _header(headers, "Retry-After")
    if raw is None:
        return None
    try:
        seconds = int(raw.strip())
    except ValueError:
        # client-go only honours the integer form, not an HTTP date.
        return None
    return float(min(max(seconds, 0), MAX_RETRY_AFTER))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


@dataclass(slots=True)
class RetryBudget:
    """Counts the retries of one request; :meth:`next_wait` says whether another is allowed."""

    max_retries: int = MAX_RETRIES
    used: int = 0

    def next_wait(self, status: int, headers: Mapping[str, str], *, what: str) -> float | None:
        """The wait before the next attempt, or ``None`` when the response is final."""
        wait = retry_after_seconds(status, headers)
        if wait is None or self.used >= self.max_retries:
            return None
        self.used += 1
        logger.info(
            "retrying %s after %ss (HTTP %d, retry %d/%d, flow schema %s)",
            what,
            wait,
            status,
            self.used,
            self.max_retries,
            _header(headers, FLOW_SCHEMA_HEADER) or "-",
        )
        return wait
