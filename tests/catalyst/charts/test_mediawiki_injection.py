"""No value given to the mediawiki chart can add objects or fields to its render.

Every templated scalar is quoted or typed and the schema constrains what it does not quote,
so a value full of YAML metacharacters (a newline and ``---``, a trailing block scalar that
swallows the rest of the template, flow collections, anchors, tags, comments) either fails
the render with a `ChartRenderError` (a 4xx-class refusal naming the value) or stays data:
the render then has exactly the structure it has for a harmless value in the same place.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from catalyst.charts import ChartRenderError, HelmRenderer
from catalyst.charts.manifests import is_manifest_template
from tests.support.mediawiki_render import NAMESPACE, RELEASE

Path_ = tuple[str | int, ...]

# A document that must never reach a render: a ClusterRoleBinding of the environment's
# default ServiceAccount to cluster-admin, followed by a ConfigMap whose block scalar
# swallows whatever the template prints after the value.
_ESCALATION = (
    "apiVersion: rbac.authorization.k8s.io/v1\n"
    "kind: ClusterRoleBinding\n"
    "metadata:\n"
    "  name: injected-admin\n"
    "roleRef:\n"
    "  apiGroup: rbac.authorization.k8s.io\n"
    "  kind: ClusterRole\n"
    "  name: cluster-admin\n"
    "subjects:\n"
    "  - kind: ServiceAccount\n"
    "    name: default\n"
    f"    namespace: {NAMESPACE}\n"
)
_TAIL = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: injected-tail\ndata:\n  tail: "

PAYLOADS: dict[str, str] = {
    # The rest of the template line and the lines after it become a block scalar.
    "new-document-block": f"80\n---\n{_ESCALATION}---\n{_TAIL}|",
    # The rest of the template line becomes a plain scalar.
    "new-document-inline": f"80\n---\n{_ESCALATION}---\n{_TAIL}",
    # A key at the start of a line, then deeper keys.
    "new-keys": "80\ninjected: true\n  nodePort: 30000\n      hostNetwork: true",
    # Metacharacters without a newline.
    "inline": "x: y # z\t'\"{a: [b, *c]} &d !!str |- >+ % @ ` \\",
}
HARMLESS = "fuzzbenign"

# Values the chart reads that values.yaml has no default for.
_EXTRA_LEAVES: list[Path_] = [
    ("mediawikiCore", "patches", 0),
    ("mediawikiCore", "patches", 1, "ref"),
    ("mediawikiCore", "patches", 1, "base"),
    ("mediawikiCore", "patches", 1, "hash"),
    ("podAnnotations", "example.org/a"),
    ("podLabels", "example.org/a"),
    ("ingress", "annotations", "example.org/a"),
    ("resources", "limits", "cpu"),
    ("web", "resources", "limits", "cpu"),
    ("database", "resources", "limits", "cpu"),
    ("install", "resources", "limits", "cpu"),
    ("extensions", "Echo", "use"),
    ("extensions", "Echo", "repository"),
    ("extensions", "Echo", "path"),
    ("extensions", "Echo", "patches", 0),
    ("skins", "Vector", "patches", 0, "ref"),
    ("otherModules", "VisualEditor", "patches", 0),
    ("moduleRepositories", "Extra", "repository"),
    ("moduleRepositories", "Extra", "path"),
]
# Component lists in Patchdemo's array shape: every field of an entry.
_ARRAY_LEAVES: list[Path_] = [
    (kind, 0, field)
    for kind in ("extensions", "skins", "otherModules")
    for field in ("name", "branch", "enable", "use", "repository", "path")
] + [("extensions", 0, "patches", 0), ("otherModules", 0, "patches", 0, "ref")]
# Maps whose keys come from the request.
_KEY_LEAVES: list[Path_] = [
    ("extensions",),
    ("skins",),
    ("otherModules",),
    ("moduleRepositories",),
    ("podLabels",),
    ("podAnnotations",),
    ("ingress", "annotations"),
]


def _leaves(value: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every scalar (and every empty map or list) of ``value``, as a path."""
    if isinstance(value, dict) and value:
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*prefix, key))]
    if isinstance(value, list) and value:
        return [leaf for i, item in enumerate(value) for leaf in _leaves(item, (*prefix, i))]
    return [prefix]


def _chart_defaults(chart: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((chart / "values.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _with_value(path: Path_, value: Any) -> dict[str, Any]:
    """Request values that set ``path`` (creating what is missing) to ``value``."""
    values: dict[str, Any] = {}
    if path[0] in ("extensions", "skins", "otherModules") and isinstance(path[1], int):
        values[str(path[0])] = [{"name": "Echo", "enable": True}]
    holder: Any = values
    for step, following in itertools.pairwise(path):
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(holder, list):
            while len(holder) <= int(step):
                holder.append(copy.deepcopy(empty))
            holder = holder[int(step)]
        else:
            holder = holder.setdefault(step, empty)
    last = path[-1]
    if isinstance(holder, list):
        while len(holder) <= int(last):
            holder.append({})
        holder[int(last)] = value
    else:
        holder[last] = value
    return values


def _with_key(path: Path_, key: str) -> dict[str, Any]:
    """Request values whose map at ``path`` has one entry named ``key``."""
    entry: Any = {"enable": True} if path[0] != "moduleRepositories" else {"path": "x"}
    if path[0] in ("podLabels", "podAnnotations", "ingress"):
        entry = "v"
    return _with_value((*path, key), entry)


def _shape(objects: list[dict[str, Any]], marker: str) -> tuple[Any, ...]:
    """What a value may not change: which objects exist where, every key path in them
    (``marker`` in a key stands for the fuzzed text) and the line count of the install
    ConfigMap's tab-separated lists."""
    kinds: Counter[tuple[str, str]] = Counter()
    seen: Counter[str] = Counter()
    paths: set[tuple[Any, ...]] = set()
    lines: list[int] = []

    def walk(node: Any, where: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for key, item in node.items():
                shown = "<fuzzed>" if marker in str(key) else key
                paths.add((*where, shown))
                walk(item, (*where, shown))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, (*where, index))

    for obj in objects:
        kind = str(obj.get("kind"))
        kinds[(kind, str((obj.get("metadata") or {}).get("namespace")))] += 1
        seen[kind] += 1
        walk(obj, (kind, seen[kind]))
        if kind == "ConfigMap":
            for name in ("repositories.tsv", "patches.tsv"):
                lines.append(len(str((obj.get("data") or {}).get(name, "")).splitlines()))
    return (sorted(kinds.items()), sorted(map(str, paths)), lines)


async def _render(
    renderer: HelmRenderer, chart: Path, values: dict[str, Any]
) -> list[dict[str, Any]] | ChartRenderError:
    try:
        return await renderer.render(
            chart, release_name=RELEASE, namespace=NAMESPACE, values=values
        )
    except ChartRenderError as exc:
        return exc


class _LoadedChart:
    """The chart loaded once and rendered by the Helm SDK with libyaml parsing: the same
    outcome as `HelmRenderer` (Helm's refusal or a YAML error is a refusal), several times
    faster, for the hundreds of renders of the fuzz test."""

    def __init__(self, chart: Any) -> None:
        self._chart = chart

    def render(self, values: dict[str, Any]) -> list[dict[str, Any]] | ChartRenderError:
        try:
            templates = self._chart.render(
                copy.deepcopy(values), name=RELEASE, namespace=NAMESPACE, is_install=True
            )
            objects = [
                document
                for path, text in sorted(templates.items())
                if is_manifest_template(path)
                for document in yaml.load_all(text, Loader=yaml.CSafeLoader)
                if document is not None
            ]
        except (helm.HelmError, yaml.YAMLError) as exc:
            return ChartRenderError(str(exc))
        if not all(isinstance(o, dict) and isinstance(o.get("metadata"), dict) for o in objects):
            return ChartRenderError("not a Kubernetes object")
        return objects


async def test_injected_documents_never_reach_the_render(
    sdk_renderer: HelmRenderer, mediawiki_chart: Path
) -> None:
    """The reported attack: a port, a service type or a deadline carrying whole documents."""
    expected = Counter(
        obj["kind"]
        for obj in await sdk_renderer.render(
            mediawiki_chart, release_name=RELEASE, namespace=NAMESPACE, values={}
        )
    )
    payload = PAYLOADS["new-document-block"]
    for path in (
        ("web", "service", "port"),
        ("web", "service", "type"),
        ("install", "activeDeadlineSeconds"),
    ):
        result = await _render(sdk_renderer, mediawiki_chart, _with_value(path, payload))
        assert isinstance(result, ChartRenderError), (path, [o["kind"] for o in result])
        # The refusal names the value, so the client can see what to fix.
        assert str(path[-1]) in result.message, result.message
    # Numbers and a known service type still render the chart as usual.
    for path, value in (
        (("web", "service", "port"), 8080),
        (("web", "service", "type"), "NodePort"),
        (("install", "activeDeadlineSeconds"), 600),
    ):
        objects = await _render(sdk_renderer, mediawiki_chart, _with_value(path, value))
        assert not isinstance(objects, ChartRenderError), objects
        assert Counter(obj["kind"] for obj in objects) == expected


def _fuzz_cases(chart: Path) -> list[tuple[str, Path_, bool]]:
    leaves = _leaves(_chart_defaults(chart)) + _EXTRA_LEAVES + _ARRAY_LEAVES
    cases = [("value", leaf, False) for leaf in dict.fromkeys(leaves)]
    return cases + [("key", leaf, True) for leaf in _KEY_LEAVES]


async def test_every_value_fuzzed_with_yaml_metacharacters_stays_data(
    mediawiki_chart: Path,
) -> None:
    """Each value (and each request-named map key) in turn, with every payload."""
    with helm.Chart.load(mediawiki_chart) as loaded:
        problems, rendered = await _fuzz(_LoadedChart(loaded), mediawiki_chart)
    assert not problems, "\n".join(problems)
    # Free text (passwords, the main page, annotations, ...) takes every payload as data:
    # the fuzz really reached the templates.
    assert rendered >= 20


async def _fuzz(chart: _LoadedChart, chart_dir: Path) -> tuple[list[str], int]:
    """The problems found (a payload that rendered foreign objects or changed the shape of
    the render) and how many payloads rendered."""
    renders = asyncio.Semaphore(4)

    async def render(values: dict[str, Any]) -> list[dict[str, Any]] | ChartRenderError:
        async with renders:
            return await asyncio.to_thread(chart.render, values)

    baseline = await render({})
    assert not isinstance(baseline, ChartRenderError), baseline
    chart_kinds = {obj["kind"] for obj in baseline}
    cases = _fuzz_cases(chart_dir)
    assert len(cases) > 80  # every default value, the extra fields, the array shape, the keys

    def values_for(path: Path_, as_key: bool, text: str) -> dict[str, Any]:
        return _with_key(path, text) if as_key else _with_value(path, text)

    async def expected_shape(path: Path_, as_key: bool) -> tuple[Any, ...]:
        """The shape for a harmless text in the same place (the defaults' when the schema
        refuses that text too)."""
        harmless = await render(values_for(path, as_key, HARMLESS))
        if isinstance(harmless, ChartRenderError):
            return _shape(baseline, "\0")
        return _shape(harmless, HARMLESS if as_key else "\0")

    rendered = 0

    async def check(what: str, path: Path_, as_key: bool) -> list[str]:
        nonlocal rendered
        expected: tuple[Any, ...] | None = None
        problems = []
        for name, payload in PAYLOADS.items():
            result = await render(values_for(path, as_key, payload))
            if isinstance(result, ChartRenderError):
                continue  # refused: a 4xx for the client, nothing rendered
            rendered += 1
            where = f"{what} {'.'.join(map(str, path))} = {name}"
            foreign = [
                f"{o['kind']} {o['metadata'].get('namespace')}/{o['metadata']['name']}"
                for o in result
                if o["kind"] not in chart_kinds
                or o["metadata"].get("namespace") != NAMESPACE
                or "injected" in o["metadata"]["name"]
            ]
            if foreign:
                problems.append(f"{where}: rendered {foreign}")
                continue
            if expected is None:
                expected = await expected_shape(path, as_key)
            if _shape(result, payload if as_key else "\0") != expected:
                problems.append(f"{where}: changed the structure of the render")
        return problems

    found = await asyncio.gather(*(check(*case) for case in cases))
    return [problem for group in found for problem in group], rendered


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("web", "service", "port"), "80"),
        (("web", "service", "port"), 70000),
        (("web", "service", "type"), "ExternalName"),
        (("install", "activeDeadlineSeconds"), "3600"),
        (("mediawikiCore", "branch"), "master\n"),
        (("mediawikiCore", "ingress"), "wiki.example.org\n"),
        (("fullnameOverride",), "wiki\n---"),
        (("nameOverride",), "Wiki Name"),
        (("web", "image", "repository"), "mediawiki\n"),
        (("web", "image", "tag"), "1.43 latest"),
        (("database", "persistence", "size"), "2Gi\n"),
        (("code", "persistence", "accessModes", 0), "Everyone"),
        (("extensions", "Echo", "branch"), "master\tx"),
        (("moduleRepositories", "VisualEditor", "load"), "anything"),
    ],
)
async def test_the_schema_constrains_what_templates_print(
    sdk_renderer: HelmRenderer, mediawiki_chart: Path, path: Path_, value: Any
) -> None:
    result = await _render(sdk_renderer, mediawiki_chart, _with_value(path, value))
    assert isinstance(result, ChartRenderError), [o["kind"] for o in result]
    assert str(path[-1] if isinstance(path[-1], str) else path[-2]) in result.message
