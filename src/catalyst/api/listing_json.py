"""The wire format of ``GET /api/environments`` items as bytes, for the service's listing
cache (`catalyst.service.listing.EnvironmentListing`).

`JsonItemRenderer` is the API's `ItemRenderer`: it serializes each environment's presenter
output once per version with orjson, split around the two fields that depend on the
response rather than the row (``statusObservedAt``, ``stale``), so a response splices its
freshness into every item without serializing anything again.

Guarantees:

- Every item is exactly the presenter's JSON (same keys, same order, secrets redacted by
  the presenter) with the response's freshness applied: ``stale`` from it, and
  ``statusObservedAt`` its shared time when it has one, else the row's own. It equals
  ``orjson.dumps(present(record, stale=…, observed_at=…))``.
- The two fields must be adjacent in the presenter's output (``statusObservedAt`` then
  ``stale``); a presenter that breaks this makes `render` raise `ValueError` at once rather
  than serve a wrong shape.
- Values orjson cannot write (integers beyond 64 bits in a row edited by hand) fall back to
  the standard library's encoder, with the same compact separators.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from catalyst.api.presenters import environment_out
from catalyst.service.freshness import Freshness
from catalyst.store.records import EnvironmentRecord
from catalyst.timestamps import rfc3339

OBSERVED_KEY: Final = "statusObservedAt"
STALE_KEY: Final = "stale"

Presenter = Callable[[EnvironmentRecord], Mapping[str, Any]]
"""The API's JSON-ready environment object for one stored environment."""


@dataclass(frozen=True, slots=True)
class JsonItem:
    """One environment's item as bytes, split around the per-response fields."""

    head: bytes
    """``{"id":…,…`` up to and including ``"statusObservedAt":``."""
    own_observed_at: bytes
    """The row's own ``statusObservedAt`` value as JSON (a string or ``null``)."""
    tail: bytes
    """``,"failureKind":…}``: everything after ``stale``."""


class _Splice:
    """The bytes one response puts between each item's ``head`` and ``tail``."""

    def __init__(self, freshness: Freshness) -> None:
        self._stale = b',"stale":true' if freshness.stale else b',"stale":false'
        self._shared = (
            None
            if freshness.observed_at is None
            else _dumps(rfc3339(freshness.observed_at)) + self._stale
        )

    def line(self, item: JsonItem) -> bytes:
        """The item's complete JSON object for this response."""
        if self._shared is not None:
            return item.head + self._shared + item.tail
        return item.head + item.own_observed_at + self._stale + item.tail


class JsonItemRenderer:
    """Environments as JSON items of the listing, from ``present`` (see the module
    docstring); implements `catalyst.service.listing.ItemRenderer`."""

    def __init__(self, present: Presenter) -> None:
        self._present = present

    def render(self, record: EnvironmentRecord) -> JsonItem:
        """Serialize the presenter's item once, split so the per-response fields can be
        spliced in (`ValueError` if they are missing or not adjacent)."""
        rendered = self._present(record)
        keys = list(rendered)
        try:
            at = keys.index(OBSERVED_KEY)
        except ValueError:
            raise ValueError(f"rendered environment has no {OBSERVED_KEY!r}") from None
        if at + 1 >= len(keys) or keys[at + 1] != STALE_KEY:
            raise ValueError(
                f"rendered environment must have {STALE_KEY!r} right after {OBSERVED_KEY!r}"
            )
        head = {key: rendered[key] for key in keys[:at]}
        tail = {key: rendered[key] for key in keys[at + 2 :]}
        # dumps({...}) minus its braces is the members text; empty dicts give b"".
        head_members = _dumps(head)[1:-1]
        tail_members = _dumps(tail)[1:-1]
        return JsonItem(
            head=b"{" + head_members + (b"," if head_members else b"") + b'"statusObservedAt":',
            own_observed_at=_dumps(rendered[OBSERVED_KEY]),
            tail=(b"," + tail_members if tail_members else b"") + b"}",
        )

    def splice(self, freshness: Freshness) -> Callable[[JsonItem], bytes]:
        """Each item's complete JSON object for responses with `freshness`."""
        return _Splice(freshness).line

    def array(self, lines: Iterable[bytes]) -> bytes:
        """``[line,line,...]`` with one copy of the data (megabytes at 10,000 environments)."""
        parts = list(lines)
        if not parts:
            return b"[]"
        parts[0] = b"[" + parts[0]
        parts[-1] += b"]"
        return b",".join(parts)


ENVIRONMENT_ITEMS: Final = JsonItemRenderer(environment_out)
"""The items of ``GET /api/environments``: the environment presenter's JSON."""


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        # Integers beyond 64 bits (only in hand-edited rows): the standard library's output.
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
