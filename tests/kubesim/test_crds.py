"""CustomResourceDefinitions and custom resources over HTTP, against a started kubesim.

A CRD is established in the write that creates it and its group/version shows up in
discovery at once; its custom resources then behave like any kind (CRUD, watch, apply,
selectors, status subresource, garbage collection, namespace deletion). Deleting the CRD
goes through the ``customresourcecleanup`` finalizer: its objects are deleted first, then
the CRD, then its types stop being served. Registrations belong to one server only.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from kubesim.resources import REGISTRY
from kubesim.server import KubeSim
from tests.support.kube_http import WatchStream, call, names
from tests.support.waiting import eventually

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
ALL_WIDGETS = "/apis/example.com/v1/widgets"
MERGE = "application/merge-patch+json"
APPLY = "application/apply-patch+yaml"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
SCHEMA = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}


def crd(
    plural: str = "widgets",
    kind: str = "Widget",
    *,
    group: str = "example.com",
    scope: str = "Namespaced",
    versions: list[dict[str, Any]] | None = None,
    status: bool = True,
    **names: Any,
) -> dict[str, Any]:
    if versions is None:
        version: dict[str, Any] = {"name": "v1", "served": True, "storage": True, "schema": SCHEMA}
        if status:
            version["subresources"] = {"status": {}}
        versions = [version]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"plural": plural, "kind": kind, **names},
            "versions": versions,
        },
    }


def widget(name: str, namespace: str = "default", **fields: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace},
        **fields,
    }


async def install(session: aiohttp.ClientSession, body: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = await call(session, "POST", CRDS, body, status=201)
    return created


def conditions(obj: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in obj["status"].get("conditions", [])}


# ------------------------------------------------------------------ establishing, discovery


async def test_created_crd_is_established_and_discovered_at_once(kube_api) -> None:
    created = await install(kube_api, crd(shortNames=["wd"], categories=["all"]))
    assert conditions(created) == {
        "NamesAccepted": ("True", "NoConflicts"),
        "Established": ("True", "InitialNamesAccepted"),
    }
    assert created["status"]["acceptedNames"] == {
        "plural": "widgets",
        "singular": "widget",
        "shortNames": ["wd"],
        "kind": "Widget",
        "listKind": "WidgetList",
        "categories": ["all"],
    }
    assert created["status"]["storedVersions"] == ["v1"]
    # v1 defaults, as the real API fills them in
    assert created["spec"]["names"]["singular"] == "widget"
    assert created["spec"]["names"]["listKind"] == "WidgetList"
    assert created["spec"]["conversion"] == {"strategy": "None"}

    groups = await call(kube_api, "GET", "/apis", status=200)
    entry = next(g for g in groups["groups"] if g["name"] == "example.com")
    assert entry["preferredVersion"] == {"groupVersion": "example.com/v1", "version": "v1"}
    group = await call(kube_api, "GET", "/apis/example.com", status=200)
    assert [v["version"] for v in group["versions"]] == ["v1"]
    resources = await call(kube_api, "GET", "/apis/example.com/v1", status=200)
    by_name = {r["name"]: r for r in resources["resources"]}
    assert set(by_name) == {"widgets", "widgets/status"}
    assert by_name["widgets"]["kind"] == "Widget"
    assert by_name["widgets"]["namespaced"] is True
    assert by_name["widgets"]["shortNames"] == ["wd"]
    assert by_name["widgets"]["categories"] == ["all"]
    assert sorted(by_name["widgets"]["verbs"]) == sorted(
        ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    )
    assert by_name["widgets/status"]["verbs"] == ["get", "patch", "update"]
    root = await call(kube_api, "GET", "/openapi/v3", status=200)
    assert "apis/example.com/v1" in root["paths"]


async def test_the_crd_resource_itself_is_discovered_like_a_real_apiserver(kube_api) -> None:
    resources = await call(kube_api, "GET", "/apis/apiextensions.k8s.io/v1", status=200)
    by_name = {r["name"]: r for r in resources["resources"]}
    crds = by_name["customresourcedefinitions"]
    assert crds["kind"] == "CustomResourceDefinition"
    assert crds["namespaced"] is False
    assert crds["shortNames"] == ["crd", "crds"]
    assert crds["categories"] == ["api-extensions"]
    assert sorted(crds["verbs"]) == sorted(
        ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    )
    assert by_name["customresourcedefinitions/status"]["verbs"] == ["get", "patch", "update"]


async def test_conflicting_names_are_not_accepted_nor_served(kube_api) -> None:
    await install(kube_api, crd(shortNames=["wd"]))
    clash = await install(kube_api, crd("gizmos", "Widget"))
    # kind and (defaulted) listKind both clash; like the naming controller, the last wins
    assert conditions(clash) == {
        "NamesAccepted": ("False", "ListKindConflict"),
        "Established": ("False", "NotAccepted"),
    }
    accepted = next(c for c in clash["status"]["conditions"] if c["type"] == "NamesAccepted")
    assert accepted["message"] == '"WidgetList" is already in use'
    short = await install(kube_api, crd("sprockets", "Sprocket", shortNames=["wd"]))
    assert conditions(short)["NamesAccepted"] == ("False", "ShortNamesConflict")
    await call(kube_api, "GET", "/apis/example.com/v1/gizmos", status=404)
    # fixing the kind accepts the names and establishes it
    fixed = dict(clash, spec={**clash["spec"], "names": {"plural": "gizmos", "kind": "Gizmo"}})
    updated = await call(kube_api, "PUT", f"{CRDS}/gizmos.example.com", fixed, status=200)
    assert conditions(updated)["Established"] == ("True", "InitialNamesAccepted")
    await call(kube_api, "GET", "/apis/example.com/v1/gizmos", status=200)


async def test_names_refused_are_accepted_once_the_other_crd_is_gone(kube_api) -> None:
    await install(kube_api, crd())
    clash = await install(kube_api, crd("gizmos", "Widget"))
    assert conditions(clash)["Established"] == ("False", "NotAccepted")
    await call(kube_api, "DELETE", f"{CRDS}/widgets.example.com", status=200)

    async def established() -> bool:
        live = await call(kube_api, "GET", f"{CRDS}/gizmos.example.com", status=200)
        return conditions(live)["Established"] == ("True", "InitialNamesAccepted")

    await eventually(established, "the CRD to be established", within=5.0, interval=0.02)
    listed = await call(kube_api, "GET", "/apis/example.com/v1/gizmos", status=200)
    assert listed["kind"] == "WidgetList"


# ------------------------------------------------------------------------------ validation


async def test_invalid_crds_are_422_with_every_cause(kube_api) -> None:
    body = crd("Gadgets", "Gadget", group="example", scope="Global")
    body["metadata"]["name"] = "gadgets.example.org"
    body["spec"]["versions"] = [
        {"name": "v1", "served": True, "storage": False},
        {"name": "v2", "served": True, "storage": False, "schema": SCHEMA},
    ]
    status = await call(kube_api, "POST", CRDS, body, status=422)
    assert status["reason"] == "Invalid"
    assert status["details"]["kind"] == "CustomResourceDefinition"
    assert status["details"]["group"] == "apiextensions.k8s.io"
    causes = {(c["field"], c["reason"]) for c in status["details"]["causes"]}
    assert causes == {
        ("metadata.name", "FieldValueInvalid"),
        ("spec.group", "FieldValueInvalid"),
        ("spec.scope", "FieldValueNotSupported"),
        ("spec.versions[0].schema.openAPIV3Schema", "FieldValueRequired"),
        ("spec.versions", "FieldValueInvalid"),
        ("spec.names.plural", "FieldValueInvalid"),
        ("status.storedVersions", "FieldValueInvalid"),
    }
    by_field = {c["field"]: c["message"] for c in status["details"]["causes"]}
    assert by_field["metadata.name"] == (
        'Invalid value: "gadgets.example.org": must be spec.names.plural+"."+spec.group'
    )
    assert by_field["spec.group"] == (
        'Invalid value: "example": should be a domain with at least one dot'
    )
    assert by_field["spec.scope"] == (
        'Unsupported value: "Global": supported values: "Cluster", "Namespaced"'
    )
    assert by_field["spec.versions"].endswith(
        "must have exactly one version marked as storage version"
    )
    assert status["message"].startswith(
        'CustomResourceDefinition.apiextensions.k8s.io "gadgets.example.org" is invalid: ['
    )

    empty = {"metadata": {"name": "things.example.com"}, "spec": {}}
    status = await call(kube_api, "POST", CRDS, empty, status=422)
    assert [c["field"] for c in status["details"]["causes"]] == [
        "metadata.name",
        "spec.group",
        "spec.scope",
        "spec.versions",
        "spec.names.plural",
        "spec.names.singular",
        "spec.names.kind",
        "spec.names.listKind",
        "status.storedVersions",
    ]
    two_storage = crd()
    two_storage["spec"]["versions"] = [
        {"name": "v1", "served": True, "storage": True, "schema": SCHEMA},
        {"name": "v2", "served": True, "storage": True, "schema": SCHEMA},
    ]
    status = await call(kube_api, "POST", CRDS, two_storage, status=422)
    assert [c["field"] for c in status["details"]["causes"]] == ["spec.versions"]
    # nothing was stored or served
    assert (await call(kube_api, "GET", CRDS, status=200))["items"] == []
    await call(kube_api, "GET", "/apis/example.com/v1", status=404)


async def test_scope_and_kind_are_immutable_once_established(kube_api) -> None:
    created = await install(kube_api, crd())
    changed = dict(created, spec={**created["spec"], "scope": "Cluster"})
    status = await call(kube_api, "PUT", f"{CRDS}/widgets.example.com", changed, status=422)
    assert [(c["field"], c["message"]) for c in status["details"]["causes"]] == [
        ("spec.scope", 'Invalid value: "Cluster": field is immutable')
    ]


# --------------------------------------------------------------------- custom resource CRUD


async def test_custom_resource_crud_list_and_watch(kubesim: KubeSim, kube_api) -> None:
    await install(kube_api, crd(status=False))
    start_rv = kubesim.store.current_rv
    async with kube_api.get(
        WIDGETS,
        params={"watch": "1", "resourceVersion": str(start_rv), "allowWatchBookmarks": "true"},
    ) as resp:
        assert resp.status == 200
        stream = WatchStream(resp)

        body = widget("w1", spec={"size": 1}, anything={"goes": True})
        body["metadata"]["labels"] = {"tier": "a"}
        created = await call(
            kube_api, "POST", WIDGETS, body, status=201, params={"fieldValidation": "Strict"}
        )
        assert created["anything"] == {"goes": True}  # preserve-unknown-fields semantics
        assert created["metadata"]["generation"] == 1
        assert created["apiVersion"] == "example.com/v1"
        assert created["kind"] == "Widget"
        await call(kube_api, "POST", WIDGETS, widget("w2"), status=201)
        await call(kube_api, "POST", WIDGETS, widget("w1"), status=409)
        bad_meta = widget("w3")
        bad_meta["metadata"]["bogus"] = 1
        await call(
            kube_api, "POST", WIDGETS, bad_meta, status=400, params={"fieldValidation": "Strict"}
        )

        fetched = await call(kube_api, "GET", f"{WIDGETS}/w1", status=200)
        fetched["spec"] = {"size": 2}
        updated = await call(kube_api, "PUT", f"{WIDGETS}/w1", fetched, status=200)
        assert updated["metadata"]["generation"] == 2
        stale = dict(fetched)
        await call(kube_api, "PUT", f"{WIDGETS}/w1", stale, status=409)
        # without a status subresource, status is desired state like any other field
        patched = await call(
            kube_api, "PATCH", f"{WIDGETS}/w1", {"status": {"phase": "Ok"}}, content_type=MERGE
        )
        assert patched["status"] == {"phase": "Ok"}
        assert patched["metadata"]["generation"] == 3
        await call(kube_api, "GET", f"{WIDGETS}/w1/status", status=404)

        listed = await call(kube_api, "GET", WIDGETS, status=200)
        assert listed["kind"] == "WidgetList"
        assert listed["apiVersion"] == "example.com/v1"
        assert [i["metadata"]["name"] for i in listed["items"]] == ["w1", "w2"]
        selected = await call(
            kube_api, "GET", ALL_WIDGETS, status=200, params={"labelSelector": "tier=a"}
        )
        assert [i["metadata"]["name"] for i in selected["items"]] == ["w1"]
        by_name = await call(
            kube_api,
            "GET",
            ALL_WIDGETS,
            status=200,
            params={"fieldSelector": "metadata.name=w2,metadata.namespace=default"},
        )
        assert [i["metadata"]["name"] for i in by_name["items"]] == ["w2"]
        refused = await call(
            kube_api, "GET", ALL_WIDGETS, status=400, params={"fieldSelector": "spec.size=2"}
        )
        assert refused["message"] == "field label not supported: spec.size"
        paged = await call(kube_api, "GET", WIDGETS, status=200, params={"limit": "1"})
        assert [i["metadata"]["name"] for i in paged["items"]] == ["w1"]
        rest = await call(
            kube_api,
            "GET",
            WIDGETS,
            status=200,
            params={"limit": "1", "continue": paged["metadata"]["continue"]},
        )
        assert [i["metadata"]["name"] for i in rest["items"]] == ["w2"]

        await call(kube_api, "DELETE", f"{WIDGETS}/w2", status=200)
        await call(kube_api, "GET", f"{WIDGETS}/w2", status=404)

        events = await stream.take(5)
        assert names(events) == [
            ("ADDED", "w1"),
            ("ADDED", "w2"),
            ("MODIFIED", "w1"),
            ("MODIFIED", "w1"),
            ("DELETED", "w2"),
        ]


async def test_custom_resource_watch_events_bookmarks_and_expiry(
    kubesim: KubeSim, kube_api
) -> None:
    kubesim.hub.compact()
    await install(kube_api, crd())
    rv = kubesim.store.current_rv
    async with kube_api.get(WIDGETS, params={"watch": "1", "resourceVersion": str(rv)}) as resp:
        stream = WatchStream(resp)
        await call(kube_api, "POST", WIDGETS, widget("w1", spec={"a": 1}), status=201)
        await call(kube_api, "PATCH", f"{WIDGETS}/w1", {"spec": {"a": 2}}, content_type=MERGE)
        await call(kube_api, "DELETE", f"{WIDGETS}/w1", status=200)
        events = await stream.take(3)
    assert names(events) == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]
    assert all(e["object"]["apiVersion"] == "example.com/v1" for e in events)
    assert events[1]["object"]["spec"] == {"a": 2}

    async with kube_api.get(
        WIDGETS,
        params={
            "watch": "1",
            "sendInitialEvents": "true",
            "resourceVersionMatch": "NotOlderThan",
            "allowWatchBookmarks": "true",
        },
    ) as resp:
        bookmark = (await WatchStream(resp).take(1))[0]
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"]["kind"] == "Widget"
    assert bookmark["object"]["apiVersion"] == "example.com/v1"
    assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}

    await call(kube_api, "POST", "/kubesim/compact", status=200)
    async with kube_api.get(WIDGETS, params={"watch": "1", "resourceVersion": str(rv)}) as resp:
        expired = await WatchStream(resp).until_closed()
    assert [(e["type"], e["object"]["code"]) for e in expired] == [("ERROR", 410)]


async def test_status_subresource_splits_spec_and_status_writes(kube_api) -> None:
    await install(kube_api, crd())
    created = await call(
        kube_api,
        "POST",
        WIDGETS,
        widget("w1", spec={"size": 1}, status={"ready": True}),
        status=201,
    )
    assert "status" not in created  # status is the controller's
    main = await call(
        kube_api,
        "PATCH",
        f"{WIDGETS}/w1",
        {"spec": {"size": 2}, "status": {"ready": False}},
        status=200,
        content_type=MERGE,
    )
    assert main["spec"] == {"size": 2}
    assert "status" not in main
    assert main["metadata"]["generation"] == 2
    status = await call(
        kube_api,
        "PATCH",
        f"{WIDGETS}/w1/status",
        {"spec": {"size": 3}, "status": {"ready": True}},
        status=200,
        content_type=MERGE,
    )
    assert status["spec"] == {"size": 2}
    assert status["status"] == {"ready": True}
    assert status["metadata"]["generation"] == 2  # status writes leave generation alone
    read = await call(kube_api, "GET", f"{WIDGETS}/w1/status", status=200)
    assert read["status"] == {"ready": True}
    put = dict(read, spec={"size": 9}, status={"ready": False})
    updated = await call(kube_api, "PUT", f"{WIDGETS}/w1/status", put, status=200)
    assert (updated["spec"], updated["status"]) == ({"size": 2}, {"ready": False})
    managers = {(m["manager"], m.get("subresource")) for m in updated["metadata"]["managedFields"]}
    assert any(sub == "status" for _, sub in managers)


async def test_server_side_apply_of_a_custom_resource(kube_api) -> None:
    await install(kube_api, crd())
    manifest = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 1\n"

    async def apply(body: str, manager: str, **params: str) -> Any:
        async with kube_api.patch(
            f"{WIDGETS}/w1",
            data=body,
            headers={"Content-Type": APPLY},
            params={"fieldManager": manager, **params},
        ) as resp:
            return resp.status, orjson.loads(await resp.read())

    code, created = await apply(manifest, "ci")
    assert code in (200, 201)  # a real server says 201; kubesim answers every apply with 200
    assert created["spec"] == {"size": 1}
    entry = created["metadata"]["managedFields"][0]
    assert (entry["manager"], entry["operation"]) == ("ci", "Apply")
    assert entry["fieldsV1"] == {"f:spec": {"f:size": {}}}

    code, conflict = await apply(manifest.replace("size: 1", "size: 2"), "other")
    assert code == 409
    assert conflict["details"]["causes"][0]["field"] == ".spec.size"
    code, forced = await apply(manifest.replace("size: 1", "size: 2"), "other", force="true")
    assert code == 200
    assert forced["spec"] == {"size": 2}
    assert forced["metadata"]["generation"] == 2

    code, status_applied = await apply(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nstatus:\n  ready: true\n",
        "ctrl",
    )
    assert code == 200
    assert "status" not in status_applied  # main-resource apply cannot write status
    refused = await call(
        kube_api,
        "PATCH",
        f"{WIDGETS}/w1",
        {"spec": {"size": 3}},
        status=415,
        content_type="application/strategic-merge-patch+json",
    )
    assert refused["reason"] == "UnsupportedMediaType"
    json_patched = await call(
        kube_api,
        "PATCH",
        f"{WIDGETS}/w1",
        [{"op": "replace", "path": "/spec/size", "value": 5}],
        status=200,
        content_type="application/json-patch+json",
    )
    assert json_patched["spec"] == {"size": 5}


async def test_cluster_scoped_custom_resources(kube_api) -> None:
    await install(kube_api, crd("realms", "Realm", scope="Cluster", status=False))
    body = {"apiVersion": "example.com/v1", "kind": "Realm", "metadata": {"name": "r1"}}
    created = await call(kube_api, "POST", "/apis/example.com/v1/realms", body, status=201)
    assert "namespace" not in created["metadata"]
    await call(kube_api, "GET", "/apis/example.com/v1/namespaces/default/realms", status=404)
    await call(kube_api, "GET", "/apis/example.com/v1/realms/r1", status=200)


async def test_table_output_has_name_and_age_or_the_printer_columns(kube_api) -> None:
    await install(kube_api, crd())
    await call(kube_api, "POST", WIDGETS, widget("w1", spec={"size": 3}), status=201)
    table = await call(kube_api, "GET", WIDGETS, status=200, headers={"Accept": TABLE})
    assert table["kind"] == "Table"
    assert [(c["name"], c["type"]) for c in table["columnDefinitions"]] == [
        ("Name", "string"),
        ("Age", "date"),
    ]
    assert table["rows"][0]["cells"][0] == "w1"
    assert table["rows"][0]["cells"][1].endswith("s")

    version = {
        "name": "v1",
        "served": True,
        "storage": True,
        "schema": SCHEMA,
        "subresources": {
            "status": {},
            "scale": {
                "specReplicasPath": ".spec.replicas",
                "statusReplicasPath": ".status.replicas",
                "labelSelectorPath": ".status.selector",
            },
        },
        "additionalPrinterColumns": [
            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
            {
                "name": "Ready",
                "type": "string",
                "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
            },
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        ],
    }
    await install(kube_api, crd("pools", "Pool", versions=[version]))
    pools = "/apis/example.com/v1/namespaces/default/pools"
    body = {"apiVersion": "example.com/v1", "kind": "Pool", "metadata": {"name": "p1"}}
    await call(kube_api, "POST", pools, {**body, "spec": {"replicas": 2}}, status=201)
    await call(
        kube_api,
        "PATCH",
        f"{pools}/p1/status",
        {
            "status": {
                "replicas": 1,
                "selector": "app=p1",
                "conditions": [{"type": "Ready", "status": "False"}],
            }
        },
        status=200,
        content_type=MERGE,
    )
    table = await call(kube_api, "GET", pools, status=200, headers={"Accept": TABLE})
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Replicas", "Ready", "Age"]
    assert table["rows"][0]["cells"][:3] == ["p1", 2, "False"]

    scale = await call(kube_api, "GET", f"{pools}/p1/scale", status=200)
    assert (scale["kind"], scale["apiVersion"]) == ("Scale", "autoscaling/v1")
    assert scale["spec"] == {"replicas": 2}
    assert scale["status"] == {"replicas": 1, "selector": "app=p1"}
    scaled = await call(
        kube_api, "PATCH", f"{pools}/p1/scale", {"spec": {"replicas": 5}}, content_type=MERGE
    )
    assert scaled["spec"] == {"replicas": 5}
    assert (await call(kube_api, "GET", f"{pools}/p1"))["spec"]["replicas"] == 5


# ------------------------------------------------------------------------- versions


async def test_all_versions_share_one_storage(kube_api) -> None:
    versions = [
        {"name": "v1beta1", "served": True, "storage": False, "schema": SCHEMA},
        {"name": "v1", "served": True, "storage": True, "schema": SCHEMA},
    ]
    await install(kube_api, crd(versions=versions))
    group = await call(kube_api, "GET", "/apis/example.com", status=200)
    assert [v["version"] for v in group["versions"]] == ["v1", "v1beta1"]
    assert group["preferredVersion"]["version"] == "v1"
    beta = "/apis/example.com/v1beta1/namespaces/default/widgets"
    async with kube_api.get(WIDGETS, params={"watch": "1"}) as resp:
        stream = WatchStream(resp)
        body = dict(widget("w1"), apiVersion="example.com/v1beta1")
        created = await call(kube_api, "POST", beta, body, status=201)
        assert created["apiVersion"] == "example.com/v1beta1"
        event = (await stream.take(1))[0]
        assert (event["type"], event["object"]["apiVersion"]) == ("ADDED", "example.com/v1")
    read = await call(kube_api, "GET", f"{WIDGETS}/w1", status=200)
    assert read["apiVersion"] == "example.com/v1"
    listed = await call(kube_api, "GET", beta, status=200)
    assert [i["apiVersion"] for i in listed["items"]] == ["example.com/v1beta1"]

    # no longer serving v1beta1: its URLs are 404 and its open watches end
    async with kube_api.get(beta, params={"watch": "1", "resourceVersion": "0"}) as resp:
        stream = WatchStream(resp)
        assert names(await stream.take(1)) == [("ADDED", "w1")]
        live = await call(kube_api, "GET", f"{CRDS}/widgets.example.com", status=200)
        live["spec"]["versions"][0]["served"] = False
        await call(kube_api, "PUT", f"{CRDS}/widgets.example.com", live, status=200)
        assert await stream.until_closed() == []
    await call(kube_api, "GET", beta, status=404)
    await call(kube_api, "GET", f"{WIDGETS}/w1", status=200)


# ------------------------------------------------------------------------- deletion


async def test_deleting_the_crd_deletes_its_custom_resources_first(kube_api) -> None:
    await install(kube_api, crd())
    await call(kube_api, "POST", "/api/v1/namespaces", {"metadata": {"name": "other"}})
    await call(kube_api, "POST", WIDGETS, widget("w1"), status=201)
    held = widget("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    await call(kube_api, "POST", WIDGETS, held, status=201)
    other = "/apis/example.com/v1/namespaces/other/widgets"
    await call(kube_api, "POST", other, widget("w2", "other"), status=201)

    async with kube_api.get(ALL_WIDGETS, params={"watch": "1"}) as resp:
        stream = WatchStream(resp)
        assert len(await stream.take(3)) == 3  # the initial ADDEDs
        deleting = await call(kube_api, "DELETE", f"{CRDS}/widgets.example.com", status=200)
        assert deleting["metadata"]["deletionTimestamp"]
        assert deleting["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]
        assert conditions(deleting)["Terminating"] == ("True", "InstanceDeletionPending")

        seen = names(await stream.take(3))
        assert sorted(seen) == [("DELETED", "w1"), ("DELETED", "w2"), ("MODIFIED", "held")]
        # the CRD waits for the object with a finalizer of its own, and refuses new ones
        live = await call(kube_api, "GET", f"{CRDS}/widgets.example.com", status=200)
        assert conditions(live)["Terminating"] == ("True", "InstanceDeletionInProgress")
        refused = await call(kube_api, "POST", WIDGETS, widget("late"), status=403)
        assert refused["message"] == (
            'widgets.example.com "late" is forbidden: create not allowed while custom resource '
            "definition is terminating"
        )
        await call(
            kube_api,
            "PATCH",
            f"{WIDGETS}/held",
            {"metadata": {"finalizers": None}},
            status=200,
            content_type=MERGE,
        )
        assert names(await stream.take(1)) == [("DELETED", "held")]
        assert await stream.until_closed() == []  # the type went away: the watch ends

    await call(kube_api, "GET", f"{CRDS}/widgets.example.com", status=404)
    await call(kube_api, "GET", WIDGETS, status=404)
    await call(kube_api, "GET", "/apis/example.com/v1", status=404)
    await call(kube_api, "GET", "/apis/example.com", status=404)
    groups = await call(kube_api, "GET", "/apis", status=200)
    assert "example.com" not in {g["name"] for g in groups["groups"]}

    # the same CRD can be installed again, empty
    await install(kube_api, crd())
    assert (await call(kube_api, "GET", WIDGETS, status=200))["items"] == []


async def test_crd_watchers_see_the_cleanup_then_deleted(kubesim: KubeSim, kube_api) -> None:
    await install(kube_api, crd())
    await call(kube_api, "POST", WIDGETS, widget("w1"), status=201)
    rv = kubesim.store.current_rv
    async with kube_api.get(CRDS, params={"watch": "1", "resourceVersion": str(rv)}) as resp:
        stream = WatchStream(resp)
        await call(kube_api, "DELETE", f"{CRDS}/widgets.example.com", status=200)
        events: list[dict[str, Any]] = []
        while not events or events[-1]["type"] != "DELETED":
            events.extend(await stream.take(1))
    reasons = [conditions(e["object"]).get("Terminating", ("", ""))[1] for e in events]
    assert reasons[0] == "InstanceDeletionPending"
    assert "InstanceDeletionInProgress" in reasons
    assert reasons[-1] == "InstanceDeletionCompleted"
    assert events[-1]["object"]["metadata"].get("finalizers") is None


async def test_namespace_deletion_removes_its_custom_resources(kubesim: KubeSim, kube_api) -> None:
    await install(kube_api, crd())
    await call(kube_api, "POST", "/api/v1/namespaces", {"metadata": {"name": "doomed"}})
    doomed = "/apis/example.com/v1/namespaces/doomed/widgets"
    await call(kube_api, "POST", doomed, widget("w1", "doomed"), status=201)
    await call(kube_api, "POST", WIDGETS, widget("keep"), status=201)
    await call(kube_api, "DELETE", "/api/v1/namespaces/doomed", status=200)

    async def namespace_gone() -> bool:
        async with kube_api.get("/api/v1/namespaces/doomed") as resp:
            return resp.status == 404

    await eventually(namespace_gone, "the namespace to be gone", within=5.0, interval=0.02)
    assert (await call(kube_api, "GET", doomed, status=200))["items"] == []
    await call(kube_api, "GET", f"{WIDGETS}/keep", status=200)


async def test_garbage_collection_follows_custom_resource_owners(kube_api) -> None:
    await install(kube_api, crd())
    owner = await call(kube_api, "POST", WIDGETS, widget("owner"), status=201)
    ref = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
    }
    cm = {"metadata": {"name": "owned", "ownerReferences": [ref]}, "data": {}}
    await call(kube_api, "POST", "/api/v1/namespaces/default/configmaps", cm, status=201)
    child = widget("child")
    child["metadata"]["ownerReferences"] = [ref]
    await call(kube_api, "POST", WIDGETS, child, status=201)
    await call(kube_api, "DELETE", f"{WIDGETS}/owner", status=200)

    async def collected() -> bool:
        async with kube_api.get("/api/v1/namespaces/default/configmaps/owned") as resp:
            cm_gone = resp.status == 404
        async with kube_api.get(f"{WIDGETS}/child") as resp:
            return cm_gone and resp.status == 404

    await eventually(collected, "the dependents to be collected", within=5.0, interval=0.02)


# ------------------------------------------------------------------------- isolation


async def test_two_servers_do_not_share_crds(kubesim: KubeSim, kube_api) -> None:
    async with KubeSim() as second, aiohttp.ClientSession(base_url=second.url) as other:
        await install(kube_api, crd())
        await call(kube_api, "GET", WIDGETS, status=200)
        await call(other, "GET", WIDGETS, status=404)
        await call(other, "GET", "/apis/example.com/v1", status=404)
        groups = await call(other, "GET", "/apis", status=200)
        assert "example.com" not in {g["name"] for g in groups["groups"]}
        # the second server may define the same group differently
        await install(other, crd(scope="Cluster", status=False))
        await call(other, "GET", "/apis/example.com/v1/widgets", status=200)
        await call(other, "GET", WIDGETS, status=404)
        await call(kube_api, "GET", WIDGETS, status=200)
    assert REGISTRY.get("example.com", "v1", "widgets") is None
    assert kubesim.store.registry.get("example.com", "v1", "widgets") is not None


async def test_a_crd_never_takes_over_a_built_in_resource(kube_api) -> None:
    ingresses = "/apis/networking.k8s.io/v1/namespaces/default/ingresses"
    ingress = {"metadata": {"name": "web"}, "spec": {"defaultBackend": {}}}
    await call(kube_api, "POST", ingresses, ingress, status=201)
    versions = [{"name": "v2", "served": True, "storage": True, "schema": SCHEMA}]
    await install(
        kube_api, crd("ingresses", "Ingress", group="networking.k8s.io", versions=versions)
    )
    await call(kube_api, "GET", "/apis/networking.k8s.io/v2/ingresses", status=404)
    await call(kube_api, "DELETE", f"{CRDS}/ingresses.networking.k8s.io", status=200)

    async def crd_gone() -> bool:
        async with kube_api.get(f"{CRDS}/ingresses.networking.k8s.io") as resp:
            return resp.status == 404

    await eventually(crd_gone, "the CRD to be deleted", within=5.0, interval=0.02)
    await call(kube_api, "GET", f"{ingresses}/web", status=200)
