"""Request bodies are JSON: anything else is refused with 415 before validation.

Without this, FastAPI leaves a body that is not declared as JSON unparsed and validation
then answers 422 ("body: must be an object") although nothing is wrong with its content.
Accepted: ``application/json`` and any ``application/*+json``, with parameters such as
``charset``. A body sent without ``Content-Type`` is refused too (FastAPI would not parse
it either). An empty body is not judged here: validation reports what is missing.
Authentication comes first, so a request without a token still gets 401.
"""

from __future__ import annotations

from email.message import Message

from fastapi import Request

from catalyst.api.auth import CurrentCaller
from catalyst.api.errors import ApiError

_SHOWN_LENGTH = 100


def is_json_media_type(content_type: str) -> bool:
    """True for ``application/json`` and ``application/*+json`` (FastAPI's own rule)."""
    message = Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


async def json_body_only(request: Request, caller: CurrentCaller) -> None:
    """FastAPI dependency for routes with a JSON body: 415 for any other media type."""
    if not await request.body():  # already read (and cached) by FastAPI
        return
    content_type = request.headers.get("content-type", "")
    if is_json_media_type(content_type):
        return
    sent = f"got {content_type[:_SHOWN_LENGTH]!r}" if content_type else "none was sent"
    raise ApiError(415, f"Content-Type: must be application/json ({sent})")
