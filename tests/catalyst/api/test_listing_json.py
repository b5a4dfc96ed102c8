"""The listing's wire format as bytes: each line is the presenter's JSON for the response's
freshness, the fresh fields must be adjacent, and oversized integers still encode."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from catalyst.api.listing_json import ENVIRONMENT_ITEMS, JsonItemRenderer
from catalyst.api.presenters import environment_out
from catalyst.service.freshness import UNWATCHED, Freshness
from catalyst.store.records import EnvironmentRecord

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


def record(env_id: int, values: dict[str, Any] | None = None) -> EnvironmentRecord:
    return EnvironmentRecord(
        id=env_id, name=f"e{env_id}", chart_name="mediawiki", values=values or {},
        namespace=f"env-{env_id}", owner_token_id=1, status="running", status_reason="",
        status_message="", status_since=T0, status_observed_at=T0, failure_kind=None,
        failed_at=None, expires_at=None, ever_running=True, lifecycle="steady", revision=1,
        applied_revision=1, operation=None, operation_error=None, status_memory={},
        created_at=T0, updated_at=T0, deleted_at=None, version=1,
    )  # fmt: skip


@pytest.mark.parametrize(
    "freshness",
    [
        UNWATCHED,
        Freshness(stale=True),
        Freshness(stale=False, observed_at=datetime(2026, 11, 25, 11, 0, 0, 500_000, tzinfo=UTC)),
    ],
)
def test_a_line_is_the_presenters_json_for_the_responses_freshness(
    freshness: Freshness,
) -> None:
    row = record(1, {"user": "Patch Demo", "password": "secret", "text": "Grüße"})

    line = ENVIRONMENT_ITEMS.splice(freshness)(ENVIRONMENT_ITEMS.render(row))

    assert line == orjson.dumps(
        environment_out(row, stale=freshness.stale, observed_at=freshness.observed_at)
    )


def test_the_body_is_the_array_of_the_lines() -> None:
    assert ENVIRONMENT_ITEMS.array([]) == b"[]"
    assert ENVIRONMENT_ITEMS.array([b'{"id":1}', b'{"id":2}']) == b'[{"id":1},{"id":2}]'


def test_a_renderer_without_adjacent_fresh_fields_is_refused() -> None:
    def reordered(r: EnvironmentRecord) -> dict[str, object]:
        item = environment_out(r)
        return {"stale": item.pop("stale"), **item}

    with pytest.raises(ValueError, match="right after"):
        JsonItemRenderer(reordered).render(record(1))


def test_integers_beyond_64_bits_fall_back_to_the_standard_encoder() -> None:
    row = record(1, {"huge": 2**70})

    line = ENVIRONMENT_ITEMS.splice(UNWATCHED)(ENVIRONMENT_ITEMS.render(row))

    assert orjson.loads(line)["values"]["huge"] == 2**70
