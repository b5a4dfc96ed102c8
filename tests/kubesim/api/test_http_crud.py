"""CRUD through real HTTP: status codes, Status bodies, patches, subresources, media types."""

from __future__ import annotations

import aiohttp

from tests.support.kube_http import CM, call, configmap

DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"


def deployment(name: str = "web", replicas: int = 1) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
        "status": {"replicas": 42},
    }


async def test_create_get_update_delete(kube_api: aiohttp.ClientSession) -> None:
    created = await call(kube_api, "POST", CM, configmap("a", x="1"), status=201)
    assert created["metadata"]["namespace"] == "default"
    assert created["metadata"]["uid"]
    got = await call(kube_api, "GET", f"{CM}/a", status=200)
    assert got == created
    got["data"]["x"] = "2"
    updated = await call(kube_api, "PUT", f"{CM}/a", got, status=200)
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    stale = await call(kube_api, "PUT", f"{CM}/a", got, status=409)
    assert stale["reason"] == "Conflict"
    assert stale["kind"] == "Status"
    await call(kube_api, "DELETE", f"{CM}/a", status=200)
    missing = await call(kube_api, "GET", f"{CM}/a", status=404)
    assert missing["message"] == 'configmaps "a" not found'
    assert missing["details"] == {"name": "a", "kind": "configmaps"}


async def test_errors_are_status_objects(kube_api: aiohttp.ClientSession) -> None:
    dup = configmap("a")
    await call(kube_api, "POST", CM, dup, status=201)
    exists = await call(kube_api, "POST", CM, dup, status=409)
    assert exists["reason"] == "AlreadyExists"
    unknown = await call(kube_api, "GET", "/api/v1/namespaces/default/widgets", status=404)
    assert unknown["message"] == "the server could not find the requested resource"
    await call(kube_api, "GET", "/apis/nope.io/v1/things", status=404)
    not_allowed = await call(kube_api, "POST", f"{CM}/a", dup, status=405)
    assert not_allowed["reason"] == "MethodNotAllowed"
    no_ns = await call(kube_api, "POST", "/api/v1/namespaces/ghost/configmaps", dup, status=404)
    assert no_ns["message"] == 'namespaces "ghost" not found'
    wrong_ns = configmap("b")
    wrong_ns["metadata"]["namespace"] = "kube-system"
    await call(kube_api, "POST", CM, wrong_ns, status=400)
    await call(kube_api, "POST", CM, dup, status=415, content_type="application/cbor")


async def test_create_ignores_status_and_status_subresource_writes_it(
    kube_api: aiohttp.ClientSession,
) -> None:
    d = await call(kube_api, "POST", DEPLOYS, deployment(), status=201)
    assert "status" not in d
    # A controller may write the object meanwhile: write without an RV (unconditional).
    del d["metadata"]["resourceVersion"]
    d["status"] = {"replicas": 1, "observedGeneration": 1}
    d2 = await call(kube_api, "PUT", f"{DEPLOYS}/web/status", d, status=200)
    assert d2["status"]["replicas"] == 1
    del d2["metadata"]["resourceVersion"]
    d2["spec"]["replicas"] = 4
    d2["status"] = {"replicas": 99}
    d3 = await call(kube_api, "PUT", f"{DEPLOYS}/web", d2, status=200)
    assert d3["metadata"]["generation"] == 2
    assert d3["status"].get("replicas") != 99


async def test_patch_content_types(kube_api: aiohttp.ClientSession) -> None:
    await call(kube_api, "POST", CM, configmap("p", a="1"), status=201)
    merged = await call(
        kube_api,
        "PATCH",
        f"{CM}/p",
        {"data": {"b": "2"}},
        status=200,
        content_type="application/merge-patch+json",
    )
    assert merged["data"] == {"a": "1", "b": "2"}
    jp = await call(
        kube_api,
        "PATCH",
        f"{CM}/p",
        [{"op": "remove", "path": "/data/a"}],
        status=200,
        content_type="application/json-patch+json",
    )
    assert jp["data"] == {"b": "2"}
    sm = await call(
        kube_api,
        "PATCH",
        f"{CM}/p",
        {"metadata": {"labels": {"x": "y"}}},
        status=200,
        content_type="application/strategic-merge-patch+json",
    )
    assert sm["metadata"]["labels"] == {"x": "y"}
    await call(kube_api, "PATCH", f"{CM}/p", {}, status=415, content_type="text/plain")
    forced = await call(
        kube_api,
        "PATCH",
        f"{CM}/p?force=true",
        {},
        status=422,
        content_type="application/merge-patch+json",
    )
    assert "may not be specified for non-apply patch" in forced["message"]
    await call(
        kube_api,
        "PATCH",
        f"{CM}/missing",
        {"data": {}},
        status=404,
        content_type="application/merge-patch+json",
    )


async def test_server_side_apply_requires_field_manager_and_creates(
    kube_api: aiohttp.ClientSession,
) -> None:
    body = configmap("ssa", k="v")
    err = await call(
        kube_api,
        "PATCH",
        f"{CM}/ssa",
        body,
        status=422,
        content_type="application/apply-patch+yaml",
    )
    assert err["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
        "is required for apply patch"
    )
    created = await call(
        kube_api,
        "PATCH",
        f"{CM}/ssa?fieldManager=tester",
        body,
        status=201,  # an apply that creates answers 201, as a real server does
        content_type="application/apply-patch+yaml",
    )
    assert created["data"] == {"k": "v"}
    managers = [m["manager"] for m in created["metadata"].get("managedFields", [])]
    assert managers == ["tester"]


async def test_dry_run_and_field_validation(kube_api: aiohttp.ClientSession) -> None:
    await call(kube_api, "POST", f"{CM}?dryRun=All", configmap("dry"), status=201)
    await call(kube_api, "GET", f"{CM}/dry", status=404)
    bogus = {**configmap("v"), "bogus": 1}
    strict = await call(kube_api, "POST", f"{CM}?fieldValidation=Strict", bogus, status=400)
    assert 'unknown field "bogus"' in strict["message"]
    async with kube_api.post(CM, json=bogus) as resp:
        assert resp.status == 201
        assert "bogus" in resp.headers["Warning"]
        assert "bogus" not in await resp.json()


async def test_delete_propagation_and_preconditions(kube_api: aiohttp.ClientSession) -> None:
    await call(kube_api, "POST", DEPLOYS, deployment("fg"), status=201)
    pending = await call(
        kube_api,
        "DELETE",
        f"{DEPLOYS}/fg",
        {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Orphan"},
        status=200,
    )
    assert pending["metadata"]["deletionTimestamp"]
    await call(kube_api, "POST", CM, configmap("pre"), status=201)
    conflict = await call(
        kube_api,
        "DELETE",
        f"{CM}/pre",
        {"preconditions": {"uid": "other"}},
        status=409,
    )
    assert "Precondition failed" in conflict["message"]
    await call(kube_api, "DELETE", f"{CM}/pre?propagationPolicy=Sideways", status=422)


async def test_deletecollection_with_selector(kube_api: aiohttp.ClientSession) -> None:
    for name, app in (("a", "x"), ("b", "x"), ("c", "y")):
        await call(kube_api, "POST", CM, configmap(name, labels={"app": app}), status=201)
    deleted = await call(kube_api, "DELETE", f"{CM}?labelSelector=app%3Dx", status=200)
    assert sorted(o["metadata"]["name"] for o in deleted["items"]) == ["a", "b"]
    left = await call(kube_api, "GET", CM, status=200)
    assert [o["metadata"]["name"] for o in left["items"]] == ["c"]


async def test_scale_subresource(kube_api: aiohttp.ClientSession) -> None:
    await call(kube_api, "POST", DEPLOYS, deployment(replicas=2), status=201)
    scale = await call(kube_api, "GET", f"{DEPLOYS}/web/scale", status=200)
    assert (scale["kind"], scale["apiVersion"], scale["spec"]["replicas"]) == (
        "Scale",
        "autoscaling/v1",
        2,
    )
    assert scale["status"]["selector"] == "app=web"
    scale["spec"]["replicas"] = 5
    await call(kube_api, "PUT", f"{DEPLOYS}/web/scale", scale, status=200)
    patched = await call(
        kube_api,
        "PATCH",
        f"{DEPLOYS}/web/scale",
        {"spec": {"replicas": 7}},
        status=200,
        content_type="application/merge-patch+json",
    )
    assert patched["spec"]["replicas"] == 7
    d = await call(kube_api, "GET", f"{DEPLOYS}/web", status=200)
    assert d["spec"]["replicas"] == 7
    assert d["metadata"]["generation"] == 3


async def test_cluster_scoped_and_namespace_paths(kube_api: aiohttp.ClientSession) -> None:
    ns = await call(
        kube_api, "POST", "/api/v1/namespaces", {"metadata": {"name": "team"}}, status=201
    )
    assert ns["status"]["phase"] == "Active"
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    await call(kube_api, "GET", "/api/v1/namespaces/team", status=200)
    await call(kube_api, "GET", "/api/v1/namespaces/team/status", status=200)
    nodes = await call(kube_api, "GET", "/api/v1/nodes", status=200)
    assert [n["metadata"]["name"] for n in nodes["items"]] == ["kubesim-node"]
    all_cms = await call(kube_api, "GET", "/api/v1/configmaps", status=200)
    assert all_cms["kind"] == "ConfigMapList"


async def test_table_and_metadata_outputs(kube_api: aiohttp.ClientSession) -> None:
    await call(kube_api, "POST", CM, configmap("t", a="1"), status=201)
    table = await call(
        kube_api,
        "GET",
        CM,
        status=200,
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"},
    )
    assert table["kind"] == "Table"
    assert table["rows"][0]["cells"][0] == "t"
    meta = await call(
        kube_api,
        "GET",
        f"{CM}/t",
        status=200,
        headers={"Accept": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"},
    )
    assert meta["kind"] == "PartialObjectMetadata"
    assert "data" not in meta
    await call(
        kube_api, "GET", CM, status=406, headers={"Accept": "application/vnd.kubernetes.protobuf"}
    )
    ok = await call(
        kube_api,
        "GET",
        CM,
        status=200,
        headers={"Accept": "application/vnd.kubernetes.protobuf,application/json"},
    )
    assert ok["kind"] == "ConfigMapList"


async def test_default_service_account_appears_in_new_namespaces(kubesim, kube_api) -> None:
    import asyncio

    await call(kube_api, "POST", "/api/v1/namespaces", {"metadata": {"name": "sa-ns"}}, status=201)
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        resp = await call(kube_api, "GET", "/api/v1/namespaces/sa-ns/serviceaccounts/default")
        if resp.get("kind") == "ServiceAccount":
            break
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
