"""Label and field selectors behave like kube-apiserver's (B11/B12)."""

from __future__ import annotations

import pytest

from kubesim.errors import ApiError
from kubesim.resources import resource_type
from kubesim.selectors import (
    label_selector_from_spec,
    parse_field_selector,
    parse_label_selector,
)

PODS = resource_type("", "v1", "pods")
CONFIGMAPS = resource_type("", "v1", "configmaps")

LABELS = {"app": "web", "tier": "frontend", "example.com/team": "a"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app=db", False),
        ("app!=db", True),
        ("app!=web", False),
        ("missing!=x", True),
        ("app in (web,db)", True),
        ("app in (db, cache)", False),
        ("app notin (db,cache)", True),
        ("app notin (web)", False),
        ("missing notin (x)", True),
        ("app", True),
        ("missing", False),
        ("!missing", True),
        ("!app", False),
        ("app=web,tier=frontend", True),
        ("app=web,tier=backend", False),
        ("app=web, tier in (frontend), !missing", True),
        ("example.com/team=a", True),
        ("  app = web  ", True),
    ],
)
def test_label_selector_forms(selector: str, expected: bool) -> None:
    assert parse_label_selector(selector).matches(LABELS) is expected


def test_empty_value_selects_empty_label() -> None:
    assert parse_label_selector("app=").matches({"app": ""})
    assert not parse_label_selector("app=").matches({"app": "x"})


def test_numeric_comparisons() -> None:
    assert parse_label_selector("replicas>2").matches({"replicas": "3"})
    assert not parse_label_selector("replicas<2").matches({"replicas": "3"})


@pytest.mark.parametrize(
    "selector",
    [
        "app=web,",
        "app in web",
        "app in (",
        "app in ()",
        "=web",
        "app=web extra",
        "a b",
        "!",
        "app=a$b",
    ],
)
def test_bad_label_selector_is_400(selector: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_label_selector(selector)
    assert info.value.code == 400
    assert info.value.reason == "BadRequest"
    assert info.value.message.startswith("unable to parse requirement: ")


@pytest.mark.parametrize(
    ("spec", "labels", "expected"),
    [
        ({}, {"a": "b"}, True),
        ({"matchLabels": {"app": "web"}}, LABELS, True),
        ({"matchLabels": {"app": "db"}}, LABELS, False),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}, LABELS, True),
        (
            {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]},
            LABELS,
            False,
        ),
        ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, LABELS, True),
        ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, LABELS, False),
        (
            {
                "matchLabels": {"tier": "frontend"},
                "matchExpressions": [{"key": "x", "operator": "DoesNotExist"}],
            },
            LABELS,
            True,
        ),
    ],
)
def test_label_selector_from_spec(spec: dict, labels: dict, expected: bool) -> None:
    assert label_selector_from_spec(spec).matches(labels) is expected


def test_label_selector_from_spec_rejects_unknown_operator() -> None:
    with pytest.raises(ApiError) as info:
        label_selector_from_spec({"matchExpressions": [{"key": "a", "operator": "Gt"}]})
    assert info.value.code == 400


POD = {
    "metadata": {"name": "web-1", "namespace": "team-a"},
    "spec": {"nodeName": "node-1"},
    "status": {"phase": "Running"},
}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", True),
        ("metadata.name=web-1", True),
        ("metadata.name==web-1", True),
        ("metadata.name!=web-1", False),
        ("metadata.namespace=team-a,status.phase=Running", True),
        ("status.phase!=Running", False),
        ("spec.nodeName=node-1", True),
        ("spec.nodeName=", False),
    ],
)
def test_field_selector_on_pods(selector: str, expected: bool) -> None:
    assert parse_field_selector(selector, PODS).matches(POD) is expected


def test_missing_field_compares_as_empty_string() -> None:
    unscheduled = {"metadata": {"name": "p"}, "status": {"phase": "Pending"}}
    assert parse_field_selector("spec.nodeName=", PODS).matches(unscheduled)


def test_unknown_field_lists_supported_ones() -> None:
    with pytest.raises(ApiError) as info:
        parse_field_selector("foo.bar=x", CONFIGMAPS)
    assert info.value.code == 400
    assert info.value.reason == "BadRequest"
    assert info.value.message == (
        '"foo.bar" is not a known field selector: only "metadata.name", "metadata.namespace"'
    )


def test_unknown_field_on_pods_lists_pod_fields() -> None:
    with pytest.raises(ApiError) as info:
        parse_field_selector("foo.bar=x", PODS)
    assert '"status.phase"' in info.value.message
    assert '"spec.nodeName"' in info.value.message


def test_field_selector_without_operator_is_400() -> None:
    with pytest.raises(ApiError) as info:
        parse_field_selector("metadata.name", PODS)
    assert info.value.code == 400


def test_field_selector_escaped_comma_in_value() -> None:
    obj = {"metadata": {"name": "a,b"}}
    assert parse_field_selector(r"metadata.name=a\,b", CONFIGMAPS).matches(obj)
