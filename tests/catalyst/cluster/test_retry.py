"""The 429/5xx + Retry-After retry rule (k8s-semantics A20)."""

from __future__ import annotations

import pytest

from catalyst.cluster.retry import MAX_RETRIES, RetryBudget, retry_after_seconds


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (429, {"Retry-After": "1"}, 1.0),
        (503, {"Retry-After": "2"}, 2.0),
        (500, {"retry-after": "0"}, 0.0),
        (429, {}, None),  # no hint: not retried
        (503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),  # only integers
        (409, {"Retry-After": "1"}, None),  # only 429 and 5xx
        (200, {"Retry-After": "1"}, None),
        (429, {"Retry-After": "100000"}, 60.0),  # capped
    ],
)
def test_retry_after_seconds(status: int, headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(status, headers) == expected


def test_budget_allows_at_most_ten_retries() -> None:
    budget = RetryBudget()
    waits = [budget.next_wait(429, {"Retry-After": "1"}, what="GET /x") for _ in range(12)]
    assert MAX_RETRIES == 10
    assert waits == [1.0] * 10 + [None, None]


def test_budget_does_not_spend_on_final_answers() -> None:
    budget = RetryBudget(max_retries=1)
    assert budget.next_wait(404, {"Retry-After": "1"}, what="GET /x") is None
    assert budget.next_wait(429, {"Retry-After": "1"}, what="GET /x") == 1.0
