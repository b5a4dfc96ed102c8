"""The informer's local cache: objects by key, with named secondary indexes.

Mirrors client-go's ``Indexer`` (k8s-semantics A13, A14). Guarantees:

- Keys are ``namespace/name`` (or ``name`` for cluster-scoped objects). Identity is the key,
  not the UID: a delete and re-create missed during a disconnect shows up as one update.
- Every index is kept exact on add, update, delete and replace: an object is listed under
  exactly the values its index function returns for its current state.
- ``replace`` swaps the whole content at once (used after a list or a watch-list) and
  returns what changed, so callers can emit deletes for keys that vanished.
- ``add_indexers`` on a populated cache indexes the existing objects; reusing a name fails.

The cache lives on the event loop thread only, so it needs no locks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

KubeObject = dict[str, Any]
"""A Kubernetes object as the API serves it (decoded JSON); the one alias the watcher uses."""
IndexFunc = Callable[[KubeObject], list[str]]

NAMESPACE_INDEX = "namespace"


def object_key(obj: Mapping[str, Any]) -> str:
    """``namespace/name`` for namespaced objects, ``name`` for cluster-scoped ones."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    name = meta.get("name", "")
    return f"{namespace}/{name}" if namespace else str(name)


def resource_version_of(obj: Mapping[str, Any]) -> str:
    """The object's ``metadata.resourceVersion`` ("" when it has none)."""
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def namespace_index(obj: KubeObject) -> list[str]:
    namespace = (obj.get("metadata") or {}).get("namespace")
    return [namespace] if namespace else []


def label_index(label: str) -> IndexFunc:
    """An index function listing an object under the value of one of its labels."""

    def index(obj: KubeObject) -> list[str]:
        value = ((obj.get("metadata") or {}).get("labels") or {}).get(label)
        return [value] if value is not None else []

    return index


class Indexer:
    """A keyed object cache with named indexes."""

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, KubeObject] = {}
        self._indexers: dict[str, IndexFunc] = {NAMESPACE_INDEX: namespace_index}
        self._indices: dict[str, dict[str, set[str]]] = {NAMESPACE_INDEX: {}}
        self.last_sync_resource_version = ""
        if indexers:
            self.add_indexers(indexers)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        duplicate = set(indexers) & set(self._indexers)
        if duplicate:
            raise ValueError(f"indexer conflict: {sorted(duplicate)}")
        for name, func in indexers.items():
            self._indexers[name] = func
            self._indices[name] = {}
            for key, obj in self._items.items():
                self._index_one(name, key, obj)

    def get(self, obj: Mapping[str, Any]) -> KubeObject | None:
        return self._items.get(object_key(obj))

    def objects(self) -> list[KubeObject]:
        return list(self._items.values())

    def list_keys(self) -> list[str]:
        return list(self._items)

    def upsert(self, obj: KubeObject) -> KubeObject | None:
        """Add or update; returns the previous object under the same key, if any."""
        key = object_key(obj)
        old = self._items.get(key)
        if old is not None:
            self._unindex(key, old)
        self._items[key] = obj
        self._index(key, obj)
        return old

    def delete_key(self, key: str) -> KubeObject | None:
        """Remove a key; returns the object that was cached under it, if any."""
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def replace(
        self, objects: Iterable[KubeObject], resource_version: str
    ) -> tuple[dict[str, KubeObject], dict[str, KubeObject]]:
        """Swap the whole content. Returns ``(previous, removed)`` keyed by object key:
        ``previous`` is the old content, ``removed`` the objects no longer present."""
        previous = self._items
        self._items = {}
        self._indices = {name: {} for name in self._indexers}
        for obj in objects:
            key = object_key(obj)
            self._items[key] = obj
            self._index(key, obj)
        removed = {key: obj for key, obj in previous.items() if key not in self._items}
        self.last_sync_resource_version = resource_version
        return previous, removed

    def by_index(self, index_name: str, value: str) -> list[KubeObject]:
        return [self._items[key] for key in self.index_keys(index_name, value)]

    def index_keys(self, index_name: str, value: str) -> list[str]:
        try:
            index = self._indices[index_name]
        except KeyError:
            raise KeyError(f"index {index_name!r} does not exist") from None
        return sorted(index.get(value, ()))

    def list_index_values(self, index_name: str) -> list[str]:
        return sorted(self._indices[index_name])

    def _index(self, key: str, obj: KubeObject) -> None:
        for name in self._indexers:
            self._index_one(name, key, obj)

    def _index_one(self, name: str, key: str, obj: KubeObject) -> None:
        index = self._indices[name]
        for value in self._indexers[name](obj):
            index.setdefault(value, set()).add(key)

    def _unindex(self, key: str, obj: KubeObject) -> None:
        for name, func in self._indexers.items():
            index = self._indices[name]
            for value in func(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]
