"""One line per failure: the contract's error shape when the answer has it, the status line
and an excerpt when it does not (a proxy's page)."""

from __future__ import annotations

import httpx

from catalyst.client.api import ApiError


def test_the_contracts_error_shape_is_read() -> None:
    body = {"statusCode": 422, "statusText": "Unprocessable Entity", "details": ["name: bad", "x"]}
    error = ApiError.from_response(httpx.Response(422, json=body))
    assert (error.status_code, error.status_text, error.details) == (
        422,
        "Unprocessable Entity",
        ["name: bad", "x"],
    )
    assert str(error) == "422 Unprocessable Entity: name: bad, x"


def test_an_answer_without_it_shows_its_status_and_an_excerpt() -> None:
    error = ApiError.from_response(httpx.Response(502, text="<html>Bad gateway</html>"))
    assert str(error) == "502 Bad Gateway: <html>Bad gateway</html>"
    assert str(ApiError.from_response(httpx.Response(503))) == "503 Service Unavailable"
