"""Rendering the mediawiki chart in tests: the release and namespace every chart test
renders it as, and helpers for reading the rendered objects."""

from __future__ import annotations

from typing import Any

RELEASE = "wiki-0123456789"
NAMESPACE = "env-17"


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, got {[o['metadata']['name'] for o in found]}"
    return found[0]


def config_data(objects: list[dict[str, Any]]) -> dict[str, str]:
    """The install ConfigMap's data."""
    return one(objects, "ConfigMap")["data"]


def repository_lines(objects: list[dict[str, Any]]) -> list[list[str]]:
    text = config_data(objects)["repositories.tsv"]
    return [line.split("\t") for line in text.splitlines() if line.strip()]
