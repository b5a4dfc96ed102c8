"""Discovery and OpenAPI documents (B21) as client-go and kubectl read them."""

from __future__ import annotations

import aiohttp

from tests.support.kube_http import call

V2_ACCEPT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


async def test_version_and_health(kube_api: aiohttp.ClientSession) -> None:
    version = await call(kube_api, "GET", "/version", status=200)
    assert version["major"] == "1"
    assert version["gitVersion"].startswith("v1.")
    for path in ("/healthz", "/readyz", "/livez"):
        assert await call(kube_api, "GET", path, status=200) == "ok"


async def test_legacy_discovery_even_when_aggregated_is_preferred(kube_api) -> None:
    async with kube_api.get("/api", headers={"Accept": V2_ACCEPT}) as resp:
        assert resp.headers["Content-Type"] == "application/json"
        body = await resp.json()
    assert body["kind"] == "APIVersions"
    assert body["versions"] == ["v1"]
    groups = await call(kube_api, "GET", "/apis", status=200, headers={"Accept": V2_ACCEPT})
    assert groups["kind"] == "APIGroupList"
    names = {g["name"] for g in groups["groups"]}
    assert {
        "apps",
        "batch",
        "networking.k8s.io",
        "coordination.k8s.io",
        "rbac.authorization.k8s.io",
    } <= names
    apps = next(g for g in groups["groups"] if g["name"] == "apps")
    assert apps["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}


async def test_resource_lists_carry_names_verbs_and_subresources(kube_api) -> None:
    core = await call(kube_api, "GET", "/api/v1", status=200)
    by_name = {r["name"]: r for r in core["resources"]}
    assert core["groupVersion"] == "v1"
    assert by_name["pods"]["shortNames"] == ["po"]
    assert by_name["pods"]["namespaced"]
    assert "pods/log" in by_name
    assert "pods/status" in by_name
    assert by_name["namespaces"]["namespaced"] is False
    assert "namespaces/finalize" in by_name
    apps = await call(kube_api, "GET", "/apis/apps/v1", status=200)
    deploy = next(r for r in apps["resources"] if r["name"] == "deployments")
    assert deploy["shortNames"] == ["deploy"]
    assert deploy["categories"] == ["all"]
    assert "watch" in deploy["verbs"]
    scale = next(r for r in apps["resources"] if r["name"] == "deployments/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    await call(kube_api, "GET", "/apis/apps/v2", status=404)
    await call(kube_api, "GET", "/apis/apps", status=200)


async def test_openapi_v3_advertises_field_validation_per_kind(kube_api) -> None:
    root = await call(kube_api, "GET", "/openapi/v3", status=200)
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    doc = await call(kube_api, "GET", url, status=200)
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
    }
    assert any(p["name"] == "fieldValidation" and p["in"] == "query" for p in patch["parameters"])
