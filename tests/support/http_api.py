"""Requests and checks for tests of Catalyst's HTTP API.

- ``ADMIN_AUTH``, ``ALICE_AUTH``, ``BOB_AUTH``: the headers of the tokens
  `tests.support.api_fakes` knows (Bob's with the ``ApiKey`` scheme).
- ``BODY``: a create body; `body_with_values` and `nested_values` build raw JSON bodies.
- `assert_error`: a response has the contract's error shape, a status and detail fragments.
"""

from __future__ import annotations

from typing import Any

import httpx

ADMIN_AUTH = {"Authorization": "ApiToken admin-token"}
ALICE_AUTH = {"Authorization": "ApiToken alice-token"}
BOB_AUTH = {"Authorization": "ApiKey bob-token"}

BODY: dict[str, Any] = {
    "name": "wiki-0123456789",
    "chartName": "mediawiki",
    "values": {"mediawikiCore": {"password": "patchdemo1", "branch": "master"}},
}


def assert_error(response: httpx.Response, status: int, *fragments: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "statusText", "details"}
    assert body["statusCode"] == status
    assert isinstance(body["statusText"], str)
    assert body["statusText"]
    assert isinstance(body["details"], list)
    assert all(isinstance(d, str) for d in body["details"])
    joined = ", ".join(body["details"])
    for fragment in fragments:
        assert fragment in joined, joined


def body_with_values(values_json: str, name: str = "wiki") -> str:
    return f'{{"name": "{name}", "chartName": "mediawiki", "values": {values_json}}}'


def nested_values(levels: int) -> str:
    """Values JSON whose deepest member is at ``levels`` (the values object is level 1)."""
    text = "1"
    for _ in range(levels - 1):
        text = f'{{"a": {text}}}'
    return text
