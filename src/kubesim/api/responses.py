"""JSON responses and Status errors, encoded with orjson.

Every body is ``application/json``; errors are ``meta/v1 Status`` objects whose
HTTP status equals their ``code`` (B14).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from kubesim.errors import ApiError

JSON = "application/json"


def json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type=JSON, headers=headers)


def error_response(error: ApiError) -> web.Response:
    return json_response(error.status(), status=error.code, headers=error.headers or None)


def success_status(rt_plural: str, name: str, group: str, uid: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "group": group, "kind": rt_plural}
    if uid:
        details["uid"] = uid
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }
