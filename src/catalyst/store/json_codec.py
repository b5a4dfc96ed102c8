"""JSON encoding for the JSON columns (`values`, `status_memory`), using orjson.

Listing thousands of environments decodes two JSON documents per row, so the decoder
matters: orjson is about twice as fast as the standard library here.

The awkward cases, and why they are handled this way:

- orjson reads integers beyond 64 bits as floats, silently losing digits. Chart values
  must round-trip exactly, so such integers (and non-string keys) are refused on the way
  in with `UnsupportedJsonValue`, a `ValueError` the API can report as 422. Everything
  orjson writes, it reads back exactly.
- NaN and infinities do not exist in JSON; they are stored as ``null`` (orjson's rule).
- Text orjson cannot parse (say, a row edited by hand with a huge number in it) falls back
  to the standard library, so reading never fails where `json` would succeed.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from catalyst.store.errors import UnsupportedJsonValue


def dumps(value: Any) -> str:
    """Compact JSON text; raises `UnsupportedJsonValue` for what cannot round-trip."""
    try:
        return orjson.dumps(value).decode()
    except TypeError as exc:
        raise UnsupportedJsonValue(f"cannot store this JSON value exactly: {exc}") from exc


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def ensure_storable(value: Any) -> None:
    """Raise `UnsupportedJsonValue` now, before a transaction, rather than mid-write."""
    dumps(value)
