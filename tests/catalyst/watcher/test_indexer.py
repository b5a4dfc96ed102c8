from __future__ import annotations

from typing import Any

import pytest

from catalyst.watcher.indexer import NAMESPACE_INDEX, Indexer, label_index, object_key

ENV = "catalyst.io/environment-id"


def obj(name: str, namespace: str | None = "ns", env: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if env is not None:
        meta["labels"] = {ENV: env}
    return {"metadata": meta}


def test_keys_are_namespace_slash_name_or_bare_name() -> None:
    assert object_key(obj("a", "ns")) == "ns/a"
    assert object_key(obj("node-1", None)) == "node-1"


def test_indexes_follow_updates_and_deletes() -> None:
    cache = Indexer({"env": label_index(ENV)})
    cache.upsert(obj("a", env="1"))
    cache.upsert(obj("b", env="1"))
    assert [o["metadata"]["name"] for o in cache.by_index("env", "1")] == ["a", "b"]

    previous = cache.upsert(obj("a", env="2"))
    assert previous is not None
    assert cache.index_keys("env", "1") == ["ns/b"]
    assert cache.index_keys("env", "2") == ["ns/a"]

    cache.delete_key("ns/b")
    assert cache.index_keys("env", "1") == []
    assert cache.list_index_values("env") == ["2"]


def test_replace_swaps_content_and_reports_removed_keys() -> None:
    cache = Indexer({"env": label_index(ENV)})
    cache.upsert(obj("a", env="1"))
    cache.upsert(obj("gone", env="1"))
    previous, removed = cache.replace([obj("a", env="1"), obj("new", env="3")], "42")
    assert set(previous) == {"ns/a", "ns/gone"}
    assert set(removed) == {"ns/gone"}
    assert cache.index_keys("env", "1") == ["ns/a"]
    assert cache.index_keys("env", "3") == ["ns/new"]
    assert cache.last_sync_resource_version == "42"


def test_namespace_index_is_built_in() -> None:
    cache = Indexer()
    cache.upsert(obj("a", "one"))
    cache.upsert(obj("b", "two"))
    assert cache.index_keys(NAMESPACE_INDEX, "two") == ["two/b"]


def test_adding_an_index_later_indexes_existing_objects() -> None:
    cache = Indexer()
    cache.upsert(obj("a", env="7"))
    cache.add_indexers({"env": label_index(ENV)})
    assert cache.index_keys("env", "7") == ["ns/a"]


def test_duplicate_index_names_and_unknown_indexes_are_errors() -> None:
    cache = Indexer({"env": label_index(ENV)})
    with pytest.raises(ValueError, match="conflict"):
        cache.add_indexers({"env": label_index(ENV)})
    with pytest.raises(KeyError, match="nope"):
        cache.index_keys("nope", "x")
