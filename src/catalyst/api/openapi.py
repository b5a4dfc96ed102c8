"""How the OpenAPI document describes errors, so generated clients and schema-driven tests
agree with the server.

Every operation lists the error statuses it can answer, each with the contract's error
shape (the ``ErrorBody`` component: ``statusCode``, ``statusText``, ``details``), built by
`error_responses`. `contract_openapi` then makes the document consistent whatever a route
declared: FastAPI's own 422 (``HTTPValidationError``, ``{"detail": [...]}``, which the
server never sends) becomes the error shape, and an operation behind authentication
always lists 401.

Not per operation: 405 (a method the path does not have) and the parser's 400/431/501
(`catalyst.api.http_protocol`) can answer any path; they use the same shape, as the
document's description says.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from catalyst.api.schemas import ErrorBody

_WHY: dict[int, str] = {
    400: "Malformed JSON, or a malformed parameter (such as `stream`).",
    401: "Missing or unknown API token (`Authorization: ApiToken <token>`).",
    404: "No such resource visible to this token (also any id beyond the store's range).",
    409: "Conflicts with the current state (a live environment has this name, the "
    "environment is being deleted, or it changed meanwhile: retry).",
    413: "Body larger than the limit (`CATALYST_MAX_BODY_BYTES`, 1 MiB by default).",
    415: "Body is not `application/json`.",
    422: "The request is well-formed but invalid; `details` names each field.",
    429: "Too many open log streams (for this token or this replica); retry later.",
    503: "A dependency (the cluster, the database) cannot be reached right now.",
}

ERROR_SCHEMA_REF = "#/components/schemas/ErrorBody"

DESCRIPTION = (
    "Every `/api` route needs `Authorization: ApiToken <token>` (or `ApiKey <token>`). "
    "Every 4xx and 5xx answer, including 405 and malformed HTTP, has the error shape "
    '`{"statusCode": 422, "statusText": "Unprocessable Entity", "details": ["..."]}`.'
)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for these error statuses, all in the error shape."""
    return {status: {"model": ErrorBody, "description": _WHY[status]} for status in statuses}


def contract_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document (built once), made consistent with the error shape."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        _use_error_shape(document)
        app.openapi_schema = document
    return app.openapi_schema


def _use_error_shape(document: dict[str, Any]) -> None:
    shape = {"application/json": {"schema": {"$ref": ERROR_SCHEMA_REF}}}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = shape
                if status == "422" and response.get("description") == "Validation Error":
                    response["description"] = _WHY[422]  # FastAPI's default entry
            if operation.get("security") and "401" not in responses:
                responses["401"] = {"description": _WHY[401], "content": shape}
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.setdefault("ErrorBody", ErrorBody.model_json_schema())
