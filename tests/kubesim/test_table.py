"""Table rendering matches kubectl's default columns (B22)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubesim.resources import resource_type
from kubesim.table import human_duration, to_table


def _rt(group: str, plural: str) -> Any:
    rt = resource_type(group, "v1", plural)
    assert rt is not None
    return rt


def _ago(seconds: int) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(name: str, age: int = 30) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "creationTimestamp": _ago(age), "uid": "u"}


def _columns(table: dict[str, Any], priority: int = 0) -> list[str]:
    return [c["name"] for c in table["columnDefinitions"] if c["priority"] == priority]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (0, "0s"),
        (45, "45s"),
        (119, "119s"),
        (200, "3m20s"),
        (300, "5m"),
        (3600, "60m"),
        (4 * 3600 + 600, "4h10m"),
        (30 * 3600, "30h"),
        (3 * 86400 + 3600, "3d1h"),
        (20 * 86400, "20d"),
        (3 * 365 * 86400, "3y"),
    ],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_pod_table() -> None:
    pod = {
        "metadata": _meta("web-1"),
        "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "node-1"},
        "status": {
            "phase": "Running",
            "podIP": "10.0.0.5",
            "containerStatuses": [
                {"name": "a", "ready": True, "restartCount": 2, "state": {"running": {}}},
                {
                    "name": "b",
                    "ready": False,
                    "restartCount": 1,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                },
            ],
        },
    }
    table = to_table(
        _rt("", "pods"), [pod], list_meta={"resourceVersion": "9"}, include_object="Metadata"
    )
    assert table["kind"] == "Table"
    assert table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "9"}
    assert _columns(table) == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert _columns(table, 1) == ["IP", "Node", "Nominated Node", "Readiness Gates"]
    [row] = table["rows"]
    assert row["cells"][:5] == ["web-1", "1/2", "CrashLoopBackOff", "3", "30s"]
    assert row["cells"][5:7] == ["10.0.0.5", "node-1"]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["apiVersion"] == "meta.k8s.io/v1"
    assert row["object"]["metadata"]["name"] == "web-1"
    assert len(row["cells"]) == len(table["columnDefinitions"])


@pytest.mark.parametrize(
    ("status", "deleting", "expected"),
    [
        ({"phase": "Pending"}, False, "Pending"),
        ({"phase": "Running"}, True, "Terminating"),
        (
            {
                "phase": "Succeeded",
                "containerStatuses": [
                    {"state": {"terminated": {"reason": "Completed", "exitCode": 0}}}
                ],
            },
            False,
            "Completed",
        ),
        (
            {
                "phase": "Pending",
                "containerStatuses": [{"state": {"waiting": {"reason": "ContainerCreating"}}}],
            },
            False,
            "ContainerCreating",
        ),
    ],
)
def test_pod_status_column(status: dict, deleting: bool, expected: str) -> None:
    meta = _meta("p")
    if deleting:
        meta["deletionTimestamp"] = _ago(1)
    pod = {"metadata": meta, "spec": {"containers": [{"name": "a"}]}, "status": status}
    table = to_table(_rt("", "pods"), [pod], list_meta={}, include_object="None")
    assert table["rows"][0]["cells"][2] == expected
    assert "object" not in table["rows"][0]


def test_deployment_table_and_full_object() -> None:
    dep = {
        "metadata": _meta("web"),
        "spec": {
            "replicas": 3,
            "template": {"spec": {"containers": [{"name": "n", "image": "nginx"}]}},
        },
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }
    table = to_table(_rt("apps", "deployments"), [dep], list_meta={}, include_object="Object")
    assert _columns(table) == ["Name", "Ready", "Up-to-date", "Available", "Age"]
    assert table["rows"][0]["cells"][:4] == ["web", "2/3", 3, 2]
    assert table["rows"][0]["object"] == dep


@pytest.mark.parametrize(
    ("group", "plural", "obj", "columns", "cells"),
    [
        ("", "configmaps", {"data": {"a": "1", "b": "2"}}, ["Name", "Data", "Age"], ["x", 2]),
        (
            "",
            "secrets",
            {"type": "Opaque", "data": {"a": "MQ=="}},
            ["Name", "Type", "Data", "Age"],
            ["x", "Opaque", 1],
        ),
        (
            "",
            "namespaces",
            {"status": {"phase": "Terminating"}},
            ["Name", "Status", "Age"],
            ["x", "Terminating"],
        ),
        (
            "batch",
            "jobs",
            {
                "spec": {"completions": 1},
                "status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]},
            },
            ["Name", "Status", "Completions", "Duration", "Age"],
            ["x", "Complete", "1/1"],
        ),
        (
            "",
            "services",
            {
                "spec": {
                    "type": "ClusterIP",
                    "clusterIP": "10.96.0.10",
                    "ports": [{"port": 80, "protocol": "TCP"}],
                }
            },
            ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"],
            ["x", "ClusterIP", "10.96.0.10", "<none>", "80/TCP"],
        ),
        (
            "",
            "persistentvolumeclaims",
            {"status": {"phase": "Pending"}},
            [
                "Name",
                "Status",
                "Volume",
                "Capacity",
                "Access Modes",
                "StorageClass",
                "VolumeAttributesClass",
                "Age",
            ],
            ["x", "Pending"],
        ),
        (
            "coordination.k8s.io",
            "leases",
            {"spec": {"holderIdentity": "me"}},
            ["Name", "Holder", "Age"],
            ["x", "me"],
        ),
        (
            "apps",
            "statefulsets",
            {"spec": {"replicas": 2}, "status": {"readyReplicas": 1}},
            ["Name", "Ready", "Age"],
            ["x", "1/2"],
        ),
        ("rbac.authorization.k8s.io", "roles", {}, ["Name", "Created At"], ["x"]),
    ],
)
def test_kind_columns(group: str, plural: str, obj: dict, columns: list, cells: list) -> None:
    full = {"metadata": _meta("x"), **obj}
    table = to_table(_rt(group, plural), [full], list_meta={}, include_object="Metadata")
    assert _columns(table) == columns
    row = table["rows"][0]["cells"]
    assert row[: len(cells)] == cells
    assert len(row) == len(table["columnDefinitions"])


def test_event_table_columns() -> None:
    event = {
        "metadata": _meta("web.123"),
        "involvedObject": {"kind": "Pod", "name": "web"},
        "reason": "Scheduled",
        "message": "assigned",
        "type": "Normal",
        "lastTimestamp": _ago(10),
    }
    table = to_table(_rt("", "events"), [event], list_meta={}, include_object="None")
    assert _columns(table) == ["Last Seen", "Type", "Reason", "Object", "Message"]
    cells = table["rows"][0]["cells"]
    assert [cells[1], cells[2], cells[3], cells[6]] == [
        "Normal",
        "Scheduled",
        "pod/web",
        "assigned",
    ]
