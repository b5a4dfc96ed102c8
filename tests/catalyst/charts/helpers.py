"""Helpers for reading rendered objects of the mediawiki chart."""

from __future__ import annotations

from typing import Any


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
