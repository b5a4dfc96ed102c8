"""The CRD life cycle as a client sees it, on kubesim and on a real control plane alike.

Each test defines a CRD of its own group (the realkube cluster is shared by the session)
and waits for what a real server only does a moment later (Established, discovery, the
type being served); on kubesim all of it is there when the create returns.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.support.clusters import BOTH_CLUSTERS, KubeCluster
from tests.support.kube_http import WatchStream, call, names
from tests.support.waiting import eventually

pytestmark = BOTH_CLUSTERS

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
MERGE = "application/merge-patch+json"
WAIT = 30.0
SCHEMA = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
_groups = itertools.count(1)


async def status_of(session: aiohttp.ClientSession, path: str) -> int:
    async with session.get(path) as resp:
        return resp.status


@pytest.fixture
async def session(kube_cluster: KubeCluster) -> AsyncIterator[aiohttp.ClientSession]:
    async with kube_cluster.aiohttp_session() as client:
        yield client


@pytest.fixture
async def group(session: aiohttp.ClientSession) -> AsyncIterator[str]:
    """A group no other test uses; its CRDs are deleted afterwards."""
    name = f"g{next(_groups)}-{int(time.time() * 1000) % 10**8}.parity.example.com"
    yield name
    listed = await call(session, "GET", CRDS, status=200)
    for item in listed["items"]:
        if item["spec"]["group"] == name:
            await call(session, "DELETE", f"{CRDS}/{item['metadata']['name']}")


def crd(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["pwd"]},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": SCHEMA,
                    "subresources": {"status": {}},
                }
            ],
        },
    }


def conditions(obj: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in (obj["status"].get("conditions") or [])}


async def established(session: aiohttp.ClientSession, group: str) -> dict[str, Any]:
    """Create the CRD and wait until it is established and its type is served."""
    await call(session, "POST", CRDS, crd(group), status=201)
    found: dict[str, Any] = {}

    async def ready() -> bool:
        found.update(await call(session, "GET", f"{CRDS}/widgets.{group}", status=200))
        return conditions(found).get("Established", ("", ""))[0] == "True"

    await eventually(ready, "Established", within=WAIT, interval=0.1)

    async def served() -> bool:
        return await status_of(session, f"/apis/{group}/v1/widgets") == 200

    await eventually(served, "the custom resource served", within=WAIT, interval=0.1)
    return found


async def test_crd_is_established_discovered_and_serves_its_resource(
    kube_cluster: KubeCluster, session: aiohttp.ClientSession, group: str
) -> None:
    live = await established(session, group)
    assert conditions(live) == {
        "NamesAccepted": ("True", "NoConflicts"),
        "Established": ("True", "InitialNamesAccepted"),
    }
    assert live["status"]["acceptedNames"]["listKind"] == "WidgetList"
    assert live["status"]["storedVersions"] == ["v1"]
    assert live["spec"]["conversion"] == {"strategy": "None"}
    assert live["spec"]["names"]["singular"] == "widget"

    async def discovered() -> bool:
        groups = await call(session, "GET", "/apis", status=200)
        return group in {g["name"] for g in groups["groups"]}

    await eventually(discovered, "the group in /apis", within=WAIT, interval=0.1)
    resources = await call(session, "GET", f"/apis/{group}/v1", status=200)
    by_name = {r["name"]: r for r in resources["resources"]}
    assert by_name["widgets"]["shortNames"] == ["pwd"]
    assert by_name["widgets"]["namespaced"] is True
    assert by_name["widgets/status"]["verbs"] == ["get", "patch", "update"]

    namespace = await kube_cluster.new_namespace("crd")
    path = f"/apis/{group}/v1/namespaces/{namespace}/widgets"
    body = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "w1"},
        "spec": {"size": 1},
        "status": {"ready": True},
        "extra": {"kept": True},
    }
    created = await call(session, "POST", path, body, status=201)
    assert "status" not in created
    assert created["extra"] == {"kept": True}
    main = await call(
        session,
        "PATCH",
        f"{path}/w1",
        {"spec": {"size": 2}, "status": {"ready": False}},
        status=200,
        content_type=MERGE,
    )
    assert (main["metadata"]["generation"], "status" in main) == (2, False)
    status = await call(
        session,
        "PATCH",
        f"{path}/w1/status",
        {"spec": {"size": 3}, "status": {"ready": True}},
        status=200,
        content_type=MERGE,
    )
    assert (status["spec"], status["status"], status["metadata"]["generation"]) == (
        {"size": 2},
        {"ready": True},
        2,
    )
    refused = await call(
        session,
        "PATCH",
        f"{path}/w1",
        {"spec": {"size": 4}},
        status=415,
        content_type="application/strategic-merge-patch+json",
    )
    assert refused["message"] == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    )
    selector = await call(session, "GET", path, status=400, params={"fieldSelector": "spec.size=2"})
    assert selector["message"] == "field label not supported: spec.size"
    listed = await call(session, "GET", path, status=200)
    assert listed["kind"] == "WidgetList"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["w1"]


async def test_deleting_the_crd_deletes_its_resources_then_stops_serving(
    kube_cluster: KubeCluster, session: aiohttp.ClientSession, group: str
) -> None:
    await established(session, group)
    namespace = await kube_cluster.new_namespace("crd")
    path = f"/apis/{group}/v1/namespaces/{namespace}/widgets"
    for name in ("a", "b"):
        body = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": name}}
        await call(session, "POST", path, body, status=201)
    async with session.get(path, params={"watch": "1", "resourceVersion": "0"}) as resp:
        stream = WatchStream(resp)
        assert sorted(names(await stream.take(2))) == [("ADDED", "a"), ("ADDED", "b")]
        deleting = await call(session, "DELETE", f"{CRDS}/widgets.{group}", status=200)
        assert deleting["metadata"]["deletionTimestamp"]
        assert deleting["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]
        assert conditions(deleting)["Terminating"] == ("True", "InstanceDeletionPending")
        deleted = await stream.take(2, within=WAIT)
        assert sorted(names(deleted)) == [("DELETED", "a"), ("DELETED", "b")]
        assert await stream.until_closed(within=WAIT) == []

    async def gone() -> bool:
        return await status_of(session, f"{CRDS}/widgets.{group}") == 404

    await eventually(gone, "the CRD deleted", within=WAIT, interval=0.1)
    assert await status_of(session, path) == 404

    async def undiscovered() -> bool:
        groups = await call(session, "GET", "/apis", status=200)
        return group not in {g["name"] for g in groups["groups"]}

    await eventually(undiscovered, "the group gone from /apis", within=WAIT, interval=0.1)


async def test_an_invalid_crd_is_refused_with_its_causes(
    session: aiohttp.ClientSession, group: str
) -> None:
    body = crd(group)
    body["metadata"]["name"] = f"gadgets.{group}"
    body["spec"]["scope"] = "Global"
    body["spec"]["versions"][0]["storage"] = False
    del body["spec"]["versions"][0]["schema"]
    status = await call(session, "POST", CRDS, body, status=422)
    assert status["reason"] == "Invalid"
    assert [c["field"] for c in status["details"]["causes"]] == [
        "metadata.name",
        "spec.scope",
        "spec.versions[0].schema.openAPIV3Schema",
        "spec.versions",
        "status.storedVersions",
    ]
    assert status["message"].startswith(
        f'CustomResourceDefinition.apiextensions.k8s.io "gadgets.{group}" is invalid: ['
    )
