"""The OpenAPI document describes the errors the server sends, and ``/api/docs`` works
without the internet (issue 8, part 4)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

ERROR_REF = "#/components/schemas/ErrorBody"

EXPECTED_ERRORS = {
    ("post", "/api/environments"): {"400", "401", "409", "413", "415", "422"},
    ("get", "/api/environments"): {"401"},
    ("get", "/api/environments/{env_id}"): {"401", "404", "409", "422", "503"},
    ("delete", "/api/environments/{env_id}"): {"401", "404", "409", "422"},
    ("post", "/api/environments/{env_id}/refresh"): {
        "400", "401", "404", "409", "413", "415", "422",
    },
    ("get", "/api/environments/{env_id}/logs"): {
        "400", "401", "404", "409", "422", "429", "503",
    },
    ("get", "/api/charts"): {"401"},
    ("get", "/api/charts/{name}"): {"401", "404"},
    ("get", "/readyz"): {"503"},
}  # fmt: skip


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


async def test_every_error_response_has_the_contract_shape(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in json.dumps(document)
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (method, path, status)


async def test_each_operation_lists_the_errors_it_can_answer(document: dict[str, Any]) -> None:
    for (method, path), statuses in EXPECTED_ERRORS.items():
        listed = set(document["paths"][path][method]["responses"])
        assert statuses <= listed, (method, path, sorted(statuses - listed))
    for method, path, operation in operations(document):
        if path.startswith("/api/"):
            assert "401" in operation["responses"], (method, path)


async def test_the_error_shape_has_exactly_the_three_keys(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["ErrorBody"]
    assert set(schema["required"]) == {"statusCode", "statusText", "details"}
    assert set(schema["properties"]) == {"statusCode", "statusText", "details"}
    assert schema["additionalProperties"] is False
    assert schema["properties"]["details"]["items"] == {"type": "string"}


async def test_the_name_rule_is_in_the_document(document: dict[str, Any]) -> None:
    name = document["components"]["schemas"]["EnvironmentCreate"]["properties"]["name"]
    assert (name["minLength"], name["maxLength"]) == (1, 53)
    assert name["pattern"] == "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


async def test_the_docs_page_loads_nothing_from_elsewhere(client: httpx.AsyncClient) -> None:
    page = await client.get("/api/docs")
    assert page.status_code == 200
    assert "://" not in page.text  # no CDN, no favicon from fastapi.tiangolo.com
    assert '"validatorUrl": null' in page.text  # no call to the online spec validator
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(assets) == [
        "/api/docs/favicon.png",
        "/api/docs/swagger-ui-bundle.js",
        "/api/docs/swagger-ui.css",
    ]
    types = {"js": "text/javascript", "css": "text/css", "png": "image/png"}
    for asset in assets:
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert response.headers["content-type"].startswith(types[asset.rsplit(".", 1)[1]])
        assert len(response.content) > 1000
    assert "SwaggerUIBundle" in (await client.get("/api/docs/swagger-ui-bundle.js")).text


@pytest.mark.parametrize("name", ["redoc.standalone.js", "__init__.py", "..%2F__init__.py"])
async def test_only_the_docs_assets_are_served(client: httpx.AsyncClient, name: str) -> None:
    response = await client.get(f"/api/docs/{name}")
    assert response.status_code == 404
    assert set(response.json()) == {"statusCode", "statusText", "details"}
