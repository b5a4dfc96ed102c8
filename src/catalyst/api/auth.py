"""API token authentication: ``Authorization: ApiToken <token>`` (or legacy ``ApiKey``).

Guarantees: a missing header, an unknown scheme or an unknown token answers 401 in the
error shape with a ``WWW-Authenticate`` challenge; the token itself never appears in
answers or logs. Token lookup compares SHA-256 hashes (see `catalyst.service.tokens`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from catalyst.api.errors import ApiError
from catalyst.service.caller import Caller

_SCHEMES = ("apitoken", "apikey")

# Declared for the OpenAPI docs ("Authorize" button); parsing is done below.
_authorization_header = APIKeyHeader(
    name="Authorization",
    auto_error=False,
    description="`ApiToken <token>` (or the older `ApiKey <token>`).",
)


def parse_authorization(header: str | None) -> str | None:
    """The token from an ``Authorization`` header value, or None if absent/malformed."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() not in _SCHEMES or not token:
        return None
    return token


async def current_caller(
    request: Request,
    authorization: Annotated[str | None, Depends(_authorization_header)],
) -> Caller:
    """FastAPI dependency: the authenticated caller, or 401."""
    token = parse_authorization(authorization)
    if token is None:
        raise _unauthorized("missing or malformed Authorization header (use: ApiToken <token>)")
    caller = await request.app.state.services.tokens.authenticate(token)
    if caller is None:
        raise _unauthorized("invalid API token")
    return caller


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, detail, headers={"WWW-Authenticate": "ApiToken"})


CurrentCaller = Annotated[Caller, Depends(current_caller)]
