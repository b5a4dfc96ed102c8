"""Turning Helm's rendered templates into Kubernetes objects.

Input is what either Helm backend produced: a mapping of template path (``mychart/templates/
x.yaml``) to rendered text. Output is the list of objects, in Helm's install order by kind
(`catalyst.cluster.ordering`, the one table the deployer applies by too: namespaces and
secrets before the workloads that use them) and, within a kind, by template
path and position, so the same input always gives the same list.

Which files count, as in Helm: ``NOTES.txt`` is dropped, and so are partials (a name that
starts with ``_``). Files that are not manifests by name (anything but ``.yaml``, ``.yml``
and ``.json``) are ignored too. Documents that are empty or only comments are dropped.

Awkward cases, all reported as `ChartRenderError` naming the template:
- text that is not YAML (Helm's own ``helm template`` fails the same way);
- a document that is not a mapping with ``apiVersion``, ``kind`` and ``metadata.name``:
  applying it would fail later with a less useful message.

YAML is read without timestamp resolution (a bare ``2024-01-01`` stays a string, as it does
when Kubernetes reads the same YAML as JSON), so every object is plain JSON data.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

import yaml

from catalyst.charts.errors import ChartRenderError
from catalyst.cluster.ordering import apply_rank

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class _ManifestLoader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp type (values stay JSON-compatible)."""


_ManifestLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def is_manifest_template(path: str) -> bool:
    """Whether a rendered template file holds Kubernetes objects."""
    name = PurePosixPath(path).name
    if name == "NOTES.txt" or name.startswith("_"):
        return False
    return name.lower().endswith(MANIFEST_SUFFIXES)


def _check_object(document: Any, path: str, index: int) -> dict[str, Any]:
    where = f"{path} (document {index + 1})"
    if not isinstance(document, dict):
        raise ChartRenderError(f"{where}: not a Kubernetes object (got {type(document).__name__})")
    missing = [key for key in ("apiVersion", "kind") if not document.get(key)]
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        missing.append("metadata.name")
    if missing:
        raise ChartRenderError(f"{where}: not a Kubernetes object, missing {', '.join(missing)}")
    return document


def objects_from_templates(templates: Mapping[str, str]) -> list[dict[str, Any]]:
    """The Kubernetes objects in rendered templates, in install order (see module doc)."""
    found: list[tuple[int, str, int, dict[str, Any]]] = []
    for path in sorted(templates):
        if not is_manifest_template(path):
            continue
        try:
            documents = list(yaml.load_all(templates[path], Loader=_ManifestLoader))
        except yaml.YAMLError as exc:
            raise ChartRenderError(f"YAML parse error on {path}: {exc}") from None
        index = 0
        for document in documents:
            if document is None:
                continue
            obj = _check_object(document, path, index)
            found.append((apply_rank(str(obj["kind"])), path, index, obj))
            index += 1
    found.sort(key=lambda item: item[:3])
    return [obj for _, _, _, obj in found]
