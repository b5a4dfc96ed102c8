"""The error shape of every 4xx/5xx answer, and the handlers that produce it.

Every error leaves the API as ``{"statusCode", "statusText", "details": [str, ...]}``
(api-contract.md). That includes errors raised by the framework itself: unknown routes
(404), wrong methods (405), request validation (422), malformed JSON (400) and unexpected
exceptions (500, with a generic detail so nothing internal leaks; the traceback goes to the
log).

Validation messages are rewritten into ``"<field>: <reason>"`` strings that a PHP client can
print joined by commas, e.g. ``"values: must be an object"``. Details are always valid UTF-8:
a lone surrogate that came in with the request is escaped (``\\ud800``), never echoed raw.

Awkward cases:

- An unexpected exception is answered by `UnexpectedErrors`, a middleware that does not
  re-raise it: the connection stays usable for the client's next request (Starlette's own
  handler re-raises, and uvicorn then closes a keep-alive connection without saying so). If
  the response had already started (a log stream), nothing can be answered any more; the
  exception goes on to the server, which closes the connection, the only way to tell the
  client that the response is incomplete.
- A 405's ``Allow`` lists the methods of every route on the path, not just the first.
- A path that misses only a trailing slash (or has one too many) is redirected with a
  relative ``Location`` built from the request path alone, so the ``Host`` header cannot
  steer the redirect elsewhere (Starlette's built-in redirect uses it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the API answers with a given status and readable details."""

    def __init__(
        self, status_code: int, *details: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status_code}: {'; '.join(details)}")
        self.status_code = status_code
        self.details = list(details)
        self.headers = headers


def status_text(status_code: int) -> str:
    """The standard reason phrase of a status code ("Unprocessable Entity")."""
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


def error_body(status_code: int, details: Sequence[str]) -> dict[str, Any]:
    """The error shape as a JSON-ready dict."""
    return {
        "statusCode": status_code,
        "statusText": status_text(status_code),
        "details": [utf8_safe(str(d)) for d in details],
    }


def utf8_safe(text: str) -> str:
    """``text`` with lone surrogates escaped (``\\ud800``): JSON answers must be UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_response(
    status_code: int, details: Sequence[str], headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON response in the error shape."""
    return JSONResponse(error_body(status_code, details), status_code=status_code, headers=headers)


# Pydantic error types → the sentence a client sees after "<field>: ".
_MESSAGES: dict[str, str] = {
    "missing": "is required",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "bool_parsing": "must be a boolean (0, 1, true or false)",
    "bool_type": "must be a boolean (0, 1, true or false)",
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "extra_forbidden": "is not allowed",
    "string_unicode": "must be valid Unicode text (no lone surrogates such as \\ud800)",
}


def _field_name(loc: Sequence[Any]) -> str:
    # FastAPI prefixes the location with where it came from ("body", "query", "path").
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"} and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts) if parts else "body"


def validation_details(errors: Sequence[Any]) -> list[str]:
    """Readable ``"<field>: <reason>"`` lines for a list of pydantic/FastAPI errors."""
    lines: list[str] = []
    for error in errors:
        kind = str(error.get("type", ""))
        message = _MESSAGES.get(kind) or str(error.get("msg", "is invalid"))
        # Validators of nested JSON (chart values) name the offending member in ctx.
        where = str((error.get("ctx") or {}).get("path", ""))
        line = f"{_field_name(error.get('loc', ()))}{where}: {message}"
        if line not in lines:
            lines.append(line)
    return lines


_UNPARSEABLE_BODY = "There was an error parsing the body"  # FastAPI's detail


async def _handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        redirect = _slash_redirect(request)
        if redirect is not None:
            return redirect
    detail = exc.detail
    if exc.status_code == 400 and detail == _UNPARSEABLE_BODY:
        # FastAPI's wrapper around any JSON parser failure other than a syntax error.
        detail = f"body: could not be parsed as JSON ({_parse_failure(exc.__cause__)})"
    if isinstance(detail, list):
        details = [str(d) for d in detail]
    elif detail and detail != status_text(exc.status_code):
        details = [str(detail)]
    else:
        details = [_default_detail(exc.status_code, request)]
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return error_response(exc.status_code, details, headers=headers or None)


def _parse_failure(cause: BaseException | None) -> str:
    if isinstance(cause, RecursionError):
        return "nested too deeply"
    if isinstance(cause, UnicodeDecodeError):
        return "not UTF-8"
    return "unreadable"


def _allowed_methods(request: Request) -> list[str]:
    """Every method of every route on this path (Starlette's 405 names only the first
    route's, e.g. ``POST`` alone for ``/api/environments``)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if route.matches(request.scope)[0] is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _slash_redirect(request: Request) -> Response | None:
    """A 307 to the same path without (or with) its trailing slash if that path exists.

    The ``Location`` is relative (path and query only): it never names a host, so neither
    the ``Host`` header nor the path can point the client somewhere else."""
    path: str = request.scope["path"]
    if path == "/":
        return None
    toggled = path.rstrip("/") if path.endswith("/") else path + "/"
    if not toggled.startswith("/") or toggled.startswith("//"):
        return None  # "//host/..." would be a network-path reference
    scope = {**request.scope, "path": toggled}
    if not any(route.matches(scope)[0] is not Match.NONE for route in request.app.router.routes):
        return None
    raw = request.scope.get("raw_path") or path.encode("ascii", "replace")
    raw_toggled = raw.rstrip(b"/") if path.endswith("/") else raw + b"/"
    location = raw_toggled.decode("latin-1")
    query = request.scope.get("query_string", b"")
    if query:
        location += "?" + query.decode("latin-1")
    return RedirectResponse(location, status_code=307)


def _default_detail(status_code: int, request: Request) -> str:
    if status_code == 404:
        return f"no route {request.url.path}"
    if status_code == 405:
        return f"method {request.method} not allowed on {request.url.path}"
    return status_text(status_code)


async def _handle_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.details, headers=exc.headers)


async def _handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    # FastAPI reports unparseable JSON as a validation error; the contract wants 400.
    malformed = [e for e in errors if e.get("type") == "json_invalid"]
    if malformed:
        reason = malformed[0].get("ctx", {}).get("error", "JSON decode error")
        return error_response(400, [f"body: malformed JSON ({reason})"])
    return error_response(422, validation_details(errors))


_INTERNAL_ERROR = "internal error; see the service log"


class UnexpectedErrors:
    """ASGI middleware: an exception no handler took becomes a 500 in the error shape.

    The exception is logged and not re-raised, so the server keeps the connection open and
    the client's next request on it works. When the response has already started, the
    exception is re-raised: the server then closes the connection (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            logger.error(
                "unhandled error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc
            )
            await error_response(500, [_INTERNAL_ERROR])(scope, receive, send)


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Behind `UnexpectedErrors`: reached for an exception after the response started
    # (logged; Starlette sends nothing then) or if that middleware itself fails. Starlette
    # re-raises after this answer and uvicorn closes the connection, so the answer says so.
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, [_INTERNAL_ERROR], headers={"Connection": "close"})


def install_error_handlers(app: FastAPI) -> None:
    """Make every error the app produces use the error shape (together with the
    `UnexpectedErrors` middleware, which the app adds as its outermost)."""
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(ApiError, _handle_api_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(Exception, _handle_unexpected)
