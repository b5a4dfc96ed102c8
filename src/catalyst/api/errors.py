"""The error shape of every 4xx/5xx answer, and the handlers that produce it.

Every error leaves the API as ``{"statusCode", "statusText", "details": [str, ...]}``
(api-contract.md). That includes errors raised by the framework itself: unknown routes
(404), wrong methods (405), request validation (422), malformed JSON (400) and unexpected
exceptions (500, with a generic detail so nothing internal leaks; the traceback goes to the
log).

Validation messages are rewritten into ``"<field>: <reason>"`` strings that a PHP client can
print joined by commas, e.g. ``"values: must be an object"``.
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
        "details": [str(d) for d in details],
    }


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
        line = f"{_field_name(error.get('loc', ()))}: {message}"
        if line not in lines:
            lines.append(line)
    return lines


async def _handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail
    if isinstance(detail, list):
        details = [str(d) for d in detail]
    elif detail and detail != status_text(exc.status_code):
        details = [str(detail)]
    else:
        details = [_default_detail(exc.status_code, request)]
    return error_response(
        exc.status_code, details, headers=dict(exc.headers) if exc.headers else None
    )


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


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, ["internal error; see the service log"])


def install_error_handlers(app: FastAPI) -> None:
    """Make every error the app produces use the error shape."""
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(ApiError, _handle_api_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(Exception, _handle_unexpected)
