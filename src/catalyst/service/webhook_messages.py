"""What a webhook delivery sends, and when a failed one is tried again (pure logic, no I/O).

Messages follow the Standard Webhooks specification (standardwebhooks.com), signed with its
reference library, so receivers verify them with any of the specification's published
libraries:

- Body: JSON ``{"type": "environment.status", "timestamp": <the change's time, RFC 3339>,
  "data": {"environment": <the environment object of GET /api/environments/{id}, status
  fields as of this change, secrets in values redacted>, "previousStatus": <status before
  the change, null for a new environment>}}``. The final change of an environment has
  status ``deleted``.
- Headers: ``webhook-id`` (`message_id`: ``msg_<webhook id>_<outbox position>``, the same
  for every retry of one change and on every replica, so a receiver de-duplicates with it),
  ``webhook-timestamp`` (seconds since the epoch of this attempt) and ``webhook-signature``
  (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, keyed by the webhook's
  ``whsec_`` secret).

`RetrySchedule` says when a failed delivery is tried again: exponential growth from
``first_delay`` (doubling each attempt) capped at ``max_delay``, each delay drawn between
half and all of its value ("equal jitter": receivers that failed together do not all come
back at the same second, and no delay is shorter than half the schedule); after
``disable_after`` of continuous failure (counted from the first failed attempt since the
last success) the webhook is disabled instead.
"""

from __future__ import annotations

import base64
import random
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from standardwebhooks.webhooks import Webhook

from catalyst.store import json_codec
from catalyst.timestamps import rfc3339

EVENT_ENVIRONMENT_STATUS = "environment.status"
EVENT_TYPES = frozenset({EVENT_ENVIRONMENT_STATUS})
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def message_id(webhook_id: int, position: int) -> str:
    """The ``webhook-id`` of the change at outbox ``position`` sent to one webhook."""
    return f"msg_{webhook_id}_{position}"


def status_body(
    *, environment: Mapping[str, Any], previous_status: str | None, occurred_at: datetime
) -> bytes:
    """The JSON body of an ``environment.status`` message."""
    payload = {
        "type": EVENT_ENVIRONMENT_STATUS,
        "timestamp": rfc3339(occurred_at),
        "data": {"environment": dict(environment), "previousStatus": previous_status},
    }
    return json_codec.dumps(payload).encode("utf-8")


def signed_headers(*, secret: str, msg_id: str, body: bytes, sent_at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for ``body`` sent at ``sent_at`` (aware UTC)."""
    signature = Webhook(secret).sign(msg_id, sent_at, body.decode("utf-8"))
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Delays between attempts of one change, and when a failing webhook is disabled."""

    first_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(hours=1)
    disable_after: timedelta = timedelta(hours=24)

    def delay(self, failures: int, *, rand: Callable[[], float] = random.random) -> timedelta:
        """The wait after the ``failures``-th failed attempt in a row (1 = the first)."""
        exponent = min(max(failures - 1, 0), 40)  # 2**40 seconds is far past any cap
        full = min(self.first_delay * (2**exponent), self.max_delay)
        return full / 2 + full / 2 * rand()

    def gives_up(self, *, failing_since: datetime, now: datetime) -> bool:
        """True when failures have lasted ``disable_after``: the webhook is disabled."""
        return now - failing_since >= self.disable_after
