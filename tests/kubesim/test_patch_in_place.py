"""The ``*_in_place`` patch functions: same results as the copying ones, on the caller's
copy, without touching the patch body."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from kubesim.patch import (
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
    json_patch_in_place,
    merge_patch_in_place,
    strategic_merge_patch_in_place,
)
from kubesim.resources import resource_type

DEPLOYMENTS = resource_type("apps", "v1", "deployments")

Patcher = Callable[[dict[str, Any], Any], dict[str, Any]]


def _deployment() -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
        "spec": {
            "replicas": 1,
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]},
                        {"name": "side", "image": "side:1"},
                    ]
                }
            },
        },
    }


MERGE = {
    "metadata": {"labels": {"tier": None, "new": "yes"}},
    "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "only"}]}}},
}
STRATEGIC = {
    "metadata": {"labels": {"tier": None}},
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {"name": "app", "image": "app:2", "env": [{"name": "B", "value": "2"}]},
                    {"name": "side", "$patch": "delete"},
                ]
            }
        }
    },
}
JSON = [
    {"op": "replace", "path": "/spec/replicas", "value": 5},
    {"op": "add", "path": "/metadata/labels/extra", "value": "x"},
]

CASES: list[tuple[Patcher, Patcher, Any]] = [
    (apply_merge_patch, merge_patch_in_place, MERGE),
    (
        lambda o, p: apply_strategic_merge_patch(o, p, DEPLOYMENTS),
        lambda o, p: strategic_merge_patch_in_place(o, p, DEPLOYMENTS),
        STRATEGIC,
    ),
    (apply_json_patch, json_patch_in_place, JSON),
]


@pytest.mark.parametrize(("copying", "in_place", "patch"), CASES)
def test_in_place_patches_the_callers_copy_like_the_copying_variant(
    copying: Patcher, in_place: Patcher, patch: Any
) -> None:
    patch_before = copy.deepcopy(patch)
    expected = copying(_deployment(), patch)
    owned = _deployment()
    result = in_place(owned, patch)
    assert result == expected
    assert result is owned  # no second copy was made
    assert result != _deployment()  # the patch did change something
    assert patch == patch_before  # the body is never modified


def test_merge_patch_copies_the_values_it_adopts() -> None:
    patch = {"spec": {"list": [{"a": 1}]}}
    result = merge_patch_in_place({}, patch)
    result["spec"]["list"][0]["a"] = 2
    assert patch == {"spec": {"list": [{"a": 1}]}}


def test_merge_patch_object_replaces_a_scalar_and_drops_nulls_inside() -> None:
    owned: dict[str, Any] = {"a": "scalar", "keep": 1}
    assert merge_patch_in_place(owned, {"a": {"b": {"c": None}, "d": 1}}) == {
        "a": {"b": {}, "d": 1},
        "keep": 1,
    }
