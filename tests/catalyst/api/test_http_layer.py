"""The HTTP layer alone (around in-memory fakes): auth, the error shape, validation,
query booleans, redaction and the status codes of the contract."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.api_fakes import FakeEnvironments
from tests.support.http_api import ADMIN_AUTH, ALICE_AUTH, BOB_AUTH, BODY, assert_error

# -- auth ---------------------------------------------------------------------------------


async def test_missing_token_is_401_in_error_shape(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/environments"), 401, "Authorization")


async def test_wrong_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/environments", headers={"Authorization": "ApiToken nope"})
    assert_error(response, 401, "invalid API token")


async def test_unknown_scheme_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/charts", headers={"Authorization": "Bearer admin-token"})
    assert_error(response, 401)


@pytest.mark.parametrize("scheme", ["ApiToken", "ApiKey", "apitoken"])
async def test_both_header_forms_are_accepted(client: httpx.AsyncClient, scheme: str) -> None:
    response = await client.get("/api/charts", headers={"Authorization": f"{scheme} admin-token"})
    assert response.status_code == 200
    assert response.json() == [
        {"name": "mediawiki", "version": "1.0.0", "description": "MediaWiki"}
    ]


async def test_non_admin_sees_only_own_environments(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/environments", json=BODY, headers=ALICE_AUTH)
    env_id = created.json()["id"]
    assert [
        e["id"] for e in (await client.get("/api/environments", headers=ALICE_AUTH)).json()
    ] == [env_id]
    assert (await client.get("/api/environments", headers=BOB_AUTH)).json() == []
    assert_error(await client.get(f"/api/environments/{env_id}", headers=BOB_AUTH), 404)
    assert_error(await client.delete(f"/api/environments/{env_id}", headers=BOB_AUTH), 404)
    admin_view = await client.get(f"/api/environments/{env_id}", headers=ADMIN_AUTH)
    assert admin_view.status_code == 200


async def test_health_endpoints_need_no_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).status_code == 200


# -- the error shape for framework errors --------------------------------------------------


async def test_unknown_route_is_404_in_error_shape(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/nothing-here", headers=ADMIN_AUTH), 404, "/api/nothing")


async def test_wrong_method_is_405_in_error_shape(client: httpx.AsyncClient) -> None:
    assert_error(await client.put("/api/environments", headers=ADMIN_AUTH), 405, "PUT")


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/environments",
        content=b'{"name": "x",',
        headers={**ADMIN_AUTH, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "malformed JSON")


async def test_body_over_limit_is_413(client: httpx.AsyncClient) -> None:
    big = {**BODY, "values": {"blob": "x" * 5000}}
    response = await client.post("/api/environments", json=big, headers=ADMIN_AUTH)
    assert_error(response, 413, "limit")


async def test_chunked_body_over_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks():
        for _ in range(10):
            yield b"x" * 1000

    response = await client.post(
        "/api/environments",
        content=chunks(),
        headers={**ADMIN_AUTH, "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert_error(response, 413)


async def test_unexpected_error_is_500_without_internals(
    client: httpx.AsyncClient, environments: FakeEnvironments
) -> None:
    async def broken(**kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    environments.list = broken  # type: ignore[method-assign]
    response = await client.get("/api/environments", headers=ADMIN_AUTH)
    assert_error(response, 500)
    assert "secret internal detail" not in response.text


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "detail"),
    [
        ("text", "values: must be an object"),
        (5, "values: must be an object"),
        ([1, 2], "values: must be an object"),
    ],
)
async def test_values_must_be_an_object(
    client: httpx.AsyncClient, values: Any, detail: str
) -> None:
    response = await client.post(
        "/api/environments", json={**BODY, "values": values}, headers=ADMIN_AUTH
    )
    assert_error(response, 422, detail)


async def test_empty_php_array_values_is_an_empty_object(
    client: httpx.AsyncClient, environments: FakeEnvironments
) -> None:
    response = await client.post(
        "/api/environments", json={**BODY, "values": []}, headers=ADMIN_AUTH
    )
    assert response.status_code == 201
    assert response.json()["values"] == {}
    assert environments.created == [{}]


@pytest.mark.parametrize("name", ["Wiki", "wiki_1", "-wiki", "wiki-", "", "a" * 54, "wiki.example"])
async def test_name_must_be_a_dns_label(client: httpx.AsyncClient, name: str) -> None:
    response = await client.post(
        "/api/environments", json={**BODY, "name": name}, headers=ADMIN_AUTH
    )
    assert_error(response, 422, "name: must be a DNS-1123 label of at most 53 characters")


async def test_name_of_53_characters_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/environments", json={**BODY, "name": "a" * 53}, headers=ADMIN_AUTH
    )
    assert response.status_code == 201


async def test_missing_fields_are_listed(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/environments", json={}, headers=ADMIN_AUTH)
    assert_error(response, 422, "name: is required", "chartName: is required")


async def test_body_that_is_not_an_object_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/environments", json=[1], headers=ADMIN_AUTH)
    assert_error(response, 422)


async def test_unknown_chart_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/environments", json={**BODY, "chartName": "nope"}, headers=ADMIN_AUTH
    )
    assert_error(response, 422, "nope")


async def test_duplicate_name_is_409(client: httpx.AsyncClient) -> None:
    assert (
        await client.post("/api/environments", json=BODY, headers=ADMIN_AUTH)
    ).status_code == 201
    assert_error(await client.post("/api/environments", json=BODY, headers=ADMIN_AUTH), 409)


async def test_unknown_chart_detail_is_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/charts/nope", headers=ADMIN_AUTH), 404, "nope")


async def test_chart_defaults(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/charts/mediawiki", headers=ADMIN_AUTH)
    assert response.json() == {
        "name": "mediawiki",
        "version": "1.0.0",
        "defaultValues": {"extensions": {"Echo": {}}},
    }


async def test_non_integer_id_is_422(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/environments/abc", headers=ADMIN_AUTH), 422, "env_id")


async def test_unknown_id_is_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/environments/999", headers=ADMIN_AUTH), 404)
    assert_error(await client.delete("/api/environments/999", headers=ADMIN_AUTH), 404)


# -- query booleans and unknown parameters ------------------------------------------------


@pytest.mark.parametrize("value", ["0", "1", "true", "false"])
async def test_list_accepts_boolean_forms_and_unknown_params(
    client: httpx.AsyncClient, value: str
) -> None:
    response = await client.get(
        "/api/environments", params={"latestStatus": value, "whatever": "x"}, headers=ADMIN_AUTH
    )
    assert response.status_code == 200


async def test_invalid_boolean_is_422_where_it_matters(client: httpx.AsyncClient) -> None:
    env_id = (await client.post("/api/environments", json=BODY, headers=ADMIN_AUTH)).json()["id"]
    response = await client.get(
        f"/api/environments/{env_id}", params={"latestStatus": "maybe"}, headers=ADMIN_AUTH
    )
    assert_error(response, 422, "latestStatus: must be a boolean")


# -- the environment object ---------------------------------------------------------------


async def test_environment_object_fields_and_redaction(client: httpx.AsyncClient) -> None:
    values = {
        "mediawikiCore": {"password": "patchdemo1", "user": "Patch Demo"},
        "dbRootPassword": {"nested": "x"},
        "list": [{"apiToken": "t", "keep": "k"}, {"clientSecret": 5}],
    }
    response = await client.post(
        "/api/environments", json={**BODY, "values": values}, headers=ADMIN_AUTH
    )
    assert response.status_code == 201
    body = response.json()
    assert isinstance(body["id"], int)
    assert body["values"] == {
        "mediawikiCore": {"password": "***", "user": "Patch Demo"},
        "dbRootPassword": "***",
        "list": [{"apiToken": "***", "keep": "k"}, {"clientSecret": "***"}],
    }
    assert set(body) == {
        "id", "name", "chartName", "status", "statusReason", "statusMessage",
        "statusObservedAt", "stale", "failureKind", "expiresAt", "createdAt", "updatedAt",
        "values",
    }  # fmt: skip
    assert body["createdAt"] == "2026-11-25T10:00:03Z"
    assert body["stale"] is False
    assert "patchdemo1" not in json.dumps(
        (await client.get("/api/environments", headers=ADMIN_AUTH)).json()
    )


async def test_delete_answers_202_deleting(client: httpx.AsyncClient) -> None:
    env_id = (await client.post("/api/environments", json=BODY, headers=ADMIN_AUTH)).json()["id"]
    response = await client.delete(f"/api/environments/{env_id}", headers=ADMIN_AUTH)
    assert response.status_code == 202
    assert response.json()["status"] == "deleting"


# -- logs ---------------------------------------------------------------------------------


async def test_log_stream_events(client: httpx.AsyncClient) -> None:
    env_id = (await client.post("/api/environments", json=BODY, headers=ADMIN_AUTH)).json()["id"]
    async with client.stream(
        "GET",
        f"/api/environments/{env_id}/logs",
        params={"stream": "mediawiki/install-mediawiki"},
        headers=ADMIN_AUTH,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        data = [
            line[5:].strip() async for line in response.aiter_lines() if line.startswith("data:")
        ]
    assert [json.loads(d) for d in data] == [
        {"logs": [{"timestamp": "2026-11-25T10:00:03Z", "log": "line one"}]},
        {"logs": [{"timestamp": "2026-11-25T10:00:03Z", "log": "line two"}]},
    ]


@pytest.mark.parametrize("stream", ["install-mediawiki", "other/install", "mediawiki/"])
async def test_bad_log_stream_is_an_error_before_streaming(
    client: httpx.AsyncClient, stream: str
) -> None:
    env_id = (await client.post("/api/environments", json=BODY, headers=ADMIN_AUTH)).json()["id"]
    response = await client.get(
        f"/api/environments/{env_id}/logs", params={"stream": stream}, headers=ADMIN_AUTH
    )
    assert_error(response, 400, "stream")


async def test_log_stream_of_unknown_environment_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/environments/42/logs", params={"stream": "mediawiki/x"}, headers=ADMIN_AUTH
    )
    assert_error(response, 404)


async def test_openapi_docs_are_served(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/api/openapi.json")).json()
    assert "/api/environments" in schema["paths"]
    assert (await client.get("/api/docs")).status_code == 200
