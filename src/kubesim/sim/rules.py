"""The simulator's rules: default timings plus per-pod behaviour rules.

A rules file is YAML with two optional sections (format in docs/dev/kubesim-internals.md):
``timings`` (defaults for every pod) and ``pods`` (a list of rules with a ``match`` block).
Every matching rule applies in order, later keys win, and a pod's own
``sim.kubesim.io/*`` annotations win over all rules.

Guarantees: :func:`load_rules` either returns a fully validated :class:`Rules` or raises
:class:`RulesError` whose message names the offending key (``pods[2].fail``).
Awkward cases: an empty file is the defaults; a rule with ``match.container`` only shapes
that container, so a pod-level behaviour (``Unschedulable``) from such a rule still applies
to the whole pod because scheduling is per pod.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from kubesim.errors import ApiError
from kubesim.selectors import LabelSelector, parse_label_selector

ANNOTATION_PREFIX = "sim.kubesim.io/"
FAIL_MODES: frozenset[str] = frozenset(
    {"ImagePullBackOff", "CrashLoopBackOff", "InvalidImageName", "Unschedulable", "ExitError"}
)
_TIMING_KEYS = {
    "scheduleAfter": "schedule_after",
    "startAfter": "start_after",
    "readyAfter": "ready_after",
    "runFor": "run_for",
    "bindAfter": "bind_after",
    "restartBackoff": "restart_backoff",
}
_RULE_KEYS = {"match", "readyAfter", "runFor", "fail", "logs"}
_MATCH_KEYS = {"namespace", "labelSelector", "container"}
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class RulesError(ValueError):
    """A rules file or annotation that cannot be understood; the message names the key."""


def parse_duration(value: object, *, key: str) -> float:
    """Seconds from ``300ms`` / ``3s`` / ``2m`` / ``1h`` / ``1m30s`` (or a bare number)."""
    if isinstance(value, bool):
        raise RulesError(f"{key}: expected a duration like '3s', got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise RulesError(f"{key}: duration must not be negative, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise RulesError(f"{key}: expected a duration like '3s', got {value!r}")
    text = value.strip()
    pos = 0
    total = 0.0
    for m in _DURATION_RE.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos == 0 or pos != len(text):
        raise RulesError(f"{key}: bad duration {value!r} (use e.g. '300ms', '3s', '2m')")
    return total


@dataclass(frozen=True, slots=True)
class Timings:
    """Default timings in seconds; "everything becomes ready in about a second"."""

    schedule_after: float = 0.1
    start_after: float = 0.3
    ready_after: float = 0.5
    run_for: float = 1.0
    bind_after: float = 0.2
    restart_backoff: float = 1.0


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How one container behaves: the merge of timings, matching rules and annotations."""

    ready_after: float
    run_for: float
    fail: str | None = None
    logs: str | None = None


@dataclass(frozen=True, slots=True)
class PodRule:
    """One ``pods[]`` entry. ``None`` fields leave earlier values alone."""

    namespace: str | None = None
    selector: LabelSelector | None = None
    container: str | None = None
    ready_after: float | None = None
    run_for: float | None = None
    fail: str | None = None
    logs: str | None = None

    def matches(self, namespace: str, labels: Mapping[str, str], container: str) -> bool:
        if self.namespace is not None and not fnmatch.fnmatchcase(namespace, self.namespace):
            return False
        if self.selector is not None and not self.selector.matches(labels):
            return False
        return self.container is None or self.container == container


@dataclass(frozen=True, slots=True)
class Rules:
    """Validated rules. Build with :func:`load_rules` or :func:`parse_rules`."""

    timings: Timings = field(default_factory=Timings)
    pods: tuple[PodRule, ...] = ()

    def behaviour(self, pod: Mapping[str, Any], container: str) -> Behaviour:
        """The behaviour of ``container`` in ``pod`` (annotations win over rules).

        A malformed annotation is ignored value by value (a pod must never crash the
        simulator), so ``sim.kubesim.io/ready-after: soon`` keeps the rule's value.
        """
        meta = pod.get("metadata") or {}
        namespace = meta.get("namespace") or ""
        labels = meta.get("labels") or {}
        result = Behaviour(ready_after=self.timings.ready_after, run_for=self.timings.run_for)
        for rule in self.pods:
            if rule.matches(namespace, labels, container):
                result = _overlay(result, rule.ready_after, rule.run_for, rule.fail, rule.logs)
        return _overlay_annotations(result, meta.get("annotations") or {})


def _overlay(
    base: Behaviour,
    ready_after: float | None,
    run_for: float | None,
    fail: str | None,
    logs: str | None,
) -> Behaviour:
    return replace(
        base,
        ready_after=base.ready_after if ready_after is None else ready_after,
        run_for=base.run_for if run_for is None else run_for,
        fail=base.fail if fail is None else fail,
        logs=base.logs if logs is None else logs,
    )


def _overlay_annotations(base: Behaviour, annotations: Mapping[str, str]) -> Behaviour:
    def duration(name: str) -> float | None:
        raw = annotations.get(ANNOTATION_PREFIX + name)
        if raw is None:
            return None
        try:
            return parse_duration(raw, key=name)
        except RulesError:
            return None

    fail = annotations.get(ANNOTATION_PREFIX + "fail")
    if fail is not None and fail not in FAIL_MODES:
        fail = None
    return _overlay(
        base,
        duration("ready-after"),
        duration("run-for"),
        fail,
        annotations.get(ANNOTATION_PREFIX + "logs"),
    )


def parse_rules(data: object) -> Rules:
    """Validate a decoded rules document (``None`` means defaults)."""
    if data is None:
        return Rules()
    if not isinstance(data, dict):
        raise RulesError("rules: the top level must be a mapping with 'timings' and/or 'pods'")
    _reject_unknown(data, {"timings", "pods"}, "rules")
    return Rules(
        timings=_parse_timings(data.get("timings")), pods=_parse_pod_rules(data.get("pods"))
    )


def load_rules(path: Path | None) -> Rules:
    """Read and validate a rules file; ``None`` gives the defaults."""
    if path is None:
        return Rules()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{path}: cannot read rules file: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return parse_rules(data)
    except RulesError as exc:
        raise RulesError(f"{path}: {exc}") from exc


def _reject_unknown(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise RulesError(
            f"{where}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(allowed))})"
        )


def _parse_timings(data: object) -> Timings:
    if data is None:
        return Timings()
    if not isinstance(data, dict):
        raise RulesError("timings: expected a mapping")
    _reject_unknown(data, set(_TIMING_KEYS), "timings")
    values = {
        _TIMING_KEYS[key]: parse_duration(value, key=f"timings.{key}")
        for key, value in data.items()
    }
    return Timings(**values)


def _parse_pod_rules(data: object) -> tuple[PodRule, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        raise RulesError("pods: expected a list of rules")
    return tuple(_parse_pod_rule(item, f"pods[{i}]") for i, item in enumerate(data))


def _parse_pod_rule(data: object, where: str) -> PodRule:
    if not isinstance(data, dict):
        raise RulesError(f"{where}: expected a mapping")
    _reject_unknown(data, _RULE_KEYS, where)
    match = data.get("match") or {}
    if not isinstance(match, dict):
        raise RulesError(f"{where}.match: expected a mapping")
    _reject_unknown(match, _MATCH_KEYS, f"{where}.match")
    selector = None
    if match.get("labelSelector") is not None:
        try:
            selector = parse_label_selector(str(match["labelSelector"]))
        except ApiError as exc:
            raise RulesError(f"{where}.match.labelSelector: {exc.message}") from exc
    fail = data.get("fail")
    if fail is not None and fail not in FAIL_MODES:
        raise RulesError(
            f"{where}.fail: unknown fail mode {fail!r} (one of {', '.join(sorted(FAIL_MODES))})"
        )
    logs = data.get("logs")
    if logs is not None and not isinstance(logs, str):
        raise RulesError(f"{where}.logs: expected a string")
    return PodRule(
        namespace=_optional_str(match, "namespace", f"{where}.match"),
        selector=selector,
        container=_optional_str(match, "container", f"{where}.match"),
        ready_after=_optional_duration(data, "readyAfter", where),
        run_for=_optional_duration(data, "runFor", where),
        fail=fail,
        logs=logs,
    )


def _optional_str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RulesError(f"{where}.{key}: expected a string")
    return value


def _optional_duration(data: Mapping[str, Any], key: str, where: str) -> float | None:
    value = data.get(key)
    return None if value is None else parse_duration(value, key=f"{where}.{key}")
