"""Input never reaches a 500 (issue 8, part 3), in-process around fakes: every finding of
the schema fuzzing and of the review answers 4xx in the error shape.

Values the store cannot keep exactly, ids that cannot exist, names and container names
with a trailing newline, odd ``latestStatus`` values on the list, non-JSON bodies, and the
``Host`` header on trailing-slash redirects. Over a real server and every database backend:
``test_live_hostile_input.py``; the parser's own errors: ``test_parser_errors.py``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from catalyst.store.errors import StaleRecord
from tests.support.api_fakes import FakeEnvironments
from tests.support.http_api import ADMIN_AUTH, BODY, assert_error, body_with_values, nested_values

JSON = {**ADMIN_AUTH, "Content-Type": "application/json"}


async def post_text(
    client: httpx.AsyncClient, text: str, path: str = "/api/environments", **headers: str
) -> httpx.Response:
    return await client.post(path, content=text.encode(), headers={**JSON, **headers})


# -- values the store cannot keep exactly ------------------------------------------------


@pytest.mark.parametrize(
    ("values_json", "detail"),
    [
        ('{"n": 18446744073709551616}', "values.n: integers must be between"),
        ('{"n": -9223372036854775809}', "values.n: integers must be between"),
        ('{"a": [0, {"n": 1234567890123456789012345678901}]}', "values.a[1].n: integers"),
        ('{"n": NaN}', "values.n: must be a finite number"),
        ('{"n": Infinity}', "values.n: must be a finite number"),
        ('{"n": -Infinity}', "values.n: must be a finite number"),
        ('{"n": 1e400}', "values.n: must be a finite number"),
        ('{"s": "\\ud800"}', "values.s: must be valid Unicode text"),
        ('{"list": ["ok", "x\\udfffy"]}', "values.list[1]: must be valid Unicode text"),
        ('{"\\udfff": 1}', 'values["\\udfff"]: must be valid Unicode text'),
        (nested_values(33), "values" + ".a" * 32 + ": nested deeper than 32 levels"),
        ('{"a": ' + "[" * 255 + "]" * 255 + "}", "nested deeper than 32 levels"),
    ],
)
async def test_values_that_cannot_be_stored_exactly_are_422(
    client: httpx.AsyncClient, environments: FakeEnvironments, values_json: str, detail: str
) -> None:
    for path in ("/api/environments", "/api/environments/1/refresh"):
        response = await post_text(client, body_with_values(values_json), path)
        assert_error(response, 422, detail)
        response.content.decode("utf-8")  # strict: no lone surrogate echoed back
    assert environments.created == []


@pytest.mark.parametrize(
    "values_json",
    [
        '{"n": 18446744073709551615, "m": -9223372036854775808}',
        '{"x": 1.7976931348623157e308, "y": -0.0}',
        '{"s": "\\ud83d\\ude00 \\u0000 \\uffff"}',  # a proper pair, NUL, a noncharacter
        nested_values(32),
        '{"a": [[[]]], "b": {}}',
    ],
)
async def test_values_at_the_limits_are_accepted(
    client: httpx.AsyncClient, values_json: str
) -> None:
    response = await post_text(client, body_with_values(values_json))
    assert response.status_code == 201, response.text


async def test_a_body_too_deep_for_the_json_parser_is_400(client: httpx.AsyncClient) -> None:
    response = await post_text(client, body_with_values("[" * 1500 + "]" * 1500))
    assert_error(response, 400, "body: could not be parsed as JSON (nested too deeply)")


async def test_a_body_that_is_not_utf8_is_400(client: httpx.AsyncClient) -> None:
    latin1 = body_with_values('{"s": "caf\u00e9"}').encode("latin-1")
    response = await client.post("/api/environments", content=latin1, headers=JSON)
    assert_error(response, 400, "body: ")


# -- names -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["wiki\n", "wiki-1\n", "\nwiki"])
async def test_a_name_with_a_newline_is_not_a_dns_label(
    client: httpx.AsyncClient, environments: FakeEnvironments, name: str
) -> None:
    response = await client.post(
        "/api/environments", json={**BODY, "name": name}, headers=ADMIN_AUTH
    )
    assert_error(response, 422, "name: must be a DNS-1123 label")
    assert environments.created == []


@pytest.mark.parametrize("stream", ["mediawiki/install-mediawiki\n", "mediawiki/x\n"])
async def test_a_container_name_with_a_trailing_newline_is_refused(
    client: httpx.AsyncClient, stream: str
) -> None:
    env_id = (await client.post("/api/environments", json=BODY, headers=ADMIN_AUTH)).json()["id"]
    response = await client.get(
        f"/api/environments/{env_id}/logs", params={"stream": stream}, headers=ADMIN_AUTH
    )
    assert_error(response, 400, "stream")


# -- ids that cannot exist ---------------------------------------------------------------

IMPOSSIBLE_IDS = [2**31, 2**63 - 1, 2**63, 2**64, 10**30, 0, -1, -(2**63) - 1]


def requests_for(env_id: Any) -> list[tuple[str, str, dict[str, Any]]]:
    base = f"/api/environments/{env_id}"
    return [
        ("GET", base, {}),
        ("GET", base, {"params": {"latestStatus": "1"}}),
        ("DELETE", base, {}),
        ("POST", f"{base}/refresh", {"json": {"values": {}}}),
        ("GET", f"{base}/logs", {"params": {"stream": "mediawiki/install-mediawiki"}}),
    ]


@pytest.mark.parametrize("env_id", IMPOSSIBLE_IDS)
async def test_an_id_the_store_cannot_hold_is_404_without_asking_it(
    client: httpx.AsyncClient, environments: FakeEnvironments, env_id: int
) -> None:
    for method, path, kwargs in requests_for(env_id):
        response = await client.request(method, path, headers=ADMIN_AUTH, **kwargs)
        assert_error(response, 404, f"environment {env_id} not found")
    assert environments.looked_up == []


async def test_an_impossible_id_still_needs_a_token(client: httpx.AsyncClient) -> None:
    for method, path, kwargs in requests_for(2**63):
        assert_error(await client.request(method, path, **kwargs), 401)


async def test_an_id_that_is_not_an_integer_is_still_422(client: httpx.AsyncClient) -> None:
    for method, path, kwargs in requests_for("1e3"):
        assert_error(await client.request(method, path, headers=ADMIN_AUTH, **kwargs), 422)


async def test_the_largest_possible_id_is_looked_up(
    client: httpx.AsyncClient, environments: FakeEnvironments
) -> None:
    assert_error(await client.get(f"/api/environments/{2**31 - 1}", headers=ADMIN_AUTH), 404)
    assert environments.looked_up == [2**31 - 1]


# -- query parameters ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "2", "maybe", "yes please", "\u00e9"])
async def test_the_list_ignores_any_latest_status(client: httpx.AsyncClient, value: str) -> None:
    response = await client.get(
        "/api/environments", params={"latestStatus": value}, headers=ADMIN_AUTH
    )
    assert response.status_code == 200, response.text
    assert response.json() == []


# -- media types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "text/json", "application/xml", None],
)
async def test_a_body_that_is_not_json_is_415(
    client: httpx.AsyncClient, environments: FakeEnvironments, content_type: str | None
) -> None:
    text = body_with_values("{}")
    env_id = (await client.post("/api/environments", json=BODY, headers=ADMIN_AUTH)).json()["id"]
    headers = {**ADMIN_AUTH, **({"Content-Type": content_type} if content_type else {})}
    for path in ("/api/environments", f"/api/environments/{env_id}/refresh"):
        response = await client.post(path, content=text.encode(), headers=headers)
        assert_error(response, 415, "Content-Type: must be application/json")
    assert len(environments.created) == 1


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/x+json",
    ],
)
async def test_json_media_types_are_accepted(client: httpx.AsyncClient, content_type: str) -> None:
    response = await post_text(client, body_with_values("{}"), **{"Content-Type": content_type})
    assert response.status_code == 201, response.text


async def test_a_non_json_body_without_a_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/environments", content=b"{}", headers={"Content-Type": "text/plain"}
    )
    assert_error(response, 401)


# -- redirects -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/api/environments/", "/api/environments"),
        ("/api/environments/?latestStatus=1&x=%2F", "/api/environments?latestStatus=1&x=%2F"),
        ("/api/charts/media%20wiki/", "/api/charts/media%20wiki"),
        ("/api/environments///", "/api/environments"),
        ("/healthz/", "/healthz"),
    ],
)
async def test_the_host_header_does_not_steer_redirects(
    client: httpx.AsyncClient, path: str, location: str
) -> None:
    response = await client.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 307
    assert response.headers["location"] == location


@pytest.mark.parametrize("path", ["//evil.example/", "/nope/", "/api/environments/1/nope/"])
async def test_no_redirect_to_a_path_that_does_not_exist(
    client: httpx.AsyncClient, path: str
) -> None:
    # An absolute URL, so that "//evil.example/" reaches the app as that path (httpx reads
    # a relative "//evil.example/" as another host, and "/" is the dashboard's page).
    url = str(client.base_url).rstrip("/") + path
    assert_error(await client.get(url, headers={"Host": "evil.example"}), 404)


# -- a concurrent change ---------------------------------------------------------------------


async def test_an_environment_changed_meanwhile_is_409_not_500(
    client: httpx.AsyncClient, environments: FakeEnvironments
) -> None:
    # As when ?latestStatus=1 races a delete that completes: the store's optimistic lock
    # refuses the write and the row is gone when the use case re-reads it.
    async def racing(env_id: int, *, caller: Any) -> Any:
        raise StaleRecord(env_id, 4, 7)

    environments.get_latest = racing  # type: ignore[attr-defined]
    env_id = (await client.post("/api/environments", json=BODY, headers=ADMIN_AUTH)).json()["id"]
    response = await client.get(
        f"/api/environments/{env_id}", params={"latestStatus": "1"}, headers=ADMIN_AUTH
    )
    assert_error(response, 409, f"environment {env_id}: changed by another request")
