"""Webhook messages (body, headers, signature checked with the Standard Webhooks reference
library) and the retry schedule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from catalyst.service.webhook_messages import (
    RetrySchedule,
    message_id,
    new_secret,
    signed_headers,
    status_body,
)
from catalyst.timestamps import utc_now

OCCURRED = datetime(2026, 12, 3, 12, 0, 1, 250000, tzinfo=UTC)


def test_a_message_verifies_with_the_reference_library() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert new_secret() != secret
    environment = {"id": 17, "status": "running", "values": {"password": "***"}}
    body = status_body(environment=environment, previous_status="starting", occurred_at=OCCURRED)
    headers = signed_headers(secret=secret, msg_id=message_id(4, 123), body=body, sent_at=utc_now())
    assert headers["webhook-id"] == "msg_4_123"
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"

    payload = Webhook(secret).verify(body, headers)
    assert payload == {
        "type": "environment.status",
        "timestamp": "2026-12-03T12:00:01.250000Z",
        "data": {"environment": environment, "previousStatus": "starting"},
    }
    assert json.loads(body) == payload


def test_a_changed_body_or_another_secret_fails_verification() -> None:
    secret = new_secret()
    body = status_body(environment={"id": 1}, previous_status=None, occurred_at=OCCURRED)
    headers = signed_headers(secret=secret, msg_id="msg_1_1", body=body, sent_at=utc_now())
    assert json.loads(body)["data"]["previousStatus"] is None
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b'"id":1', b'"id":2'), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    old = signed_headers(
        secret=secret, msg_id="msg_1_1", body=body, sent_at=utc_now() - timedelta(hours=1)
    )
    with pytest.raises(WebhookVerificationError, match="too old"):  # a replay an hour later
        Webhook(secret).verify(body, old)


def test_retries_double_with_jitter_up_to_the_cap() -> None:
    schedule = RetrySchedule(
        first_delay=timedelta(seconds=5),
        max_delay=timedelta(hours=1),
        disable_after=timedelta(hours=24),
    )
    lowest = [schedule.delay(n, rand=lambda: 0.0).total_seconds() for n in range(1, 13)]
    highest = [schedule.delay(n, rand=lambda: 1.0 - 1e-12).total_seconds() for n in range(1, 13)]
    assert highest[:4] == pytest.approx([5, 10, 20, 40])
    assert lowest[:4] == pytest.approx([2.5, 5, 10, 20])
    assert max(highest) == pytest.approx(3600)
    assert highest[-1] == pytest.approx(3600)
    assert schedule.delay(10_000).total_seconds() <= 3600
    # At least 24 h of retries before giving up: well over 24 attempts at the cap.
    start = datetime(2026, 12, 3, tzinfo=UTC)
    assert not schedule.gives_up(failing_since=start, now=start + timedelta(hours=23, minutes=59))
    assert schedule.gives_up(failing_since=start, now=start + timedelta(hours=24))
