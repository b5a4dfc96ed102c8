"""Ids in paths that cannot name anything answer 404 before any lookup.

Every stored id is a positive 32-bit integer (the store's ``INTEGER`` primary keys).
Without this check a larger id went all the way to the database, where PostgreSQL refuses
a parameter beyond its ``int4`` column and SQLite one beyond 64 bits: a 500. An id outside
``1 .. MAX_ID`` names nothing, so it answers exactly like an unknown id: 404 in the error
shape. Authentication comes first (a request without a token still gets 401), and text
that is not an integer at all is left to the route's own validation (422).

It applies to every path parameter named ``id`` or ``*_id`` of every route it guards, so
routes added later are covered without further work.
"""

from __future__ import annotations

from fastapi import Request
from pydantic import TypeAdapter, ValidationError

from catalyst.api.auth import CurrentCaller
from catalyst.api.errors import ApiError

MAX_ID = 2**31 - 1

_INTEGER = TypeAdapter(int)  # parses exactly as FastAPI parses an `int` path parameter
_NAMED = {"env_id": "environment", "webhook_id": "webhook"}


async def possible_ids(request: Request, caller: CurrentCaller) -> None:
    """FastAPI dependency: 404 for an id path parameter outside ``1 .. MAX_ID``.

    ``caller`` is there for its side effect: authentication runs (once per request)
    before any id is judged."""
    for name, raw in request.path_params.items():
        if name != "id" and not name.endswith("_id"):
            continue
        try:
            value = _INTEGER.validate_python(raw)
        except ValidationError:
            continue
        if not 1 <= value <= MAX_ID:
            raise ApiError(404, f"{_NAMED.get(name, name)} {value} not found")
