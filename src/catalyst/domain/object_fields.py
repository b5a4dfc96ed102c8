"""Readers for the fields of Kubernetes object dicts that the status rules look at.

Objects arrive as plain JSON dicts, as the API serves them. These helpers read optional
fields with Kubernetes' defaults (a missing count is 0, a missing `spec.replicas` is 1) and
raise `TypeError`/`ValueError` on a field of the wrong shape, which the rule dispatcher turns
into the `Unknown` state ("evaluation error", §6.3) instead of a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Obj = Mapping[str, Any]


def section(obj: Obj, name: str) -> Obj:
    """`obj[name]` as a mapping; absent or null reads as empty."""
    value = obj.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} is not an object")
    return value


def metadata(obj: Obj) -> Obj:
    return section(obj, "metadata")


def spec(obj: Obj) -> Obj:
    return section(obj, "spec")


def status(obj: Obj) -> Obj:
    return section(obj, "status")


def uid(obj: Obj) -> str:
    return str(metadata(obj).get("uid") or "")


def is_terminating(obj: Obj) -> bool:
    return bool(metadata(obj).get("deletionTimestamp"))


def annotation(obj: Obj, key: str) -> str | None:
    value = section(metadata(obj), "annotations").get(key)
    return None if value is None else str(value)


def owner_uids(obj: Obj) -> list[str]:
    refs = metadata(obj).get("ownerReferences") or []
    if not isinstance(refs, list):
        raise TypeError("ownerReferences is not a list")
    return [str(ref.get("uid")) for ref in refs if isinstance(ref, Mapping) and ref.get("uid")]


def count(obj: Mapping[str, Any], field: str, default: int = 0) -> int:
    """An integer field, with `default` when absent or null. Rejects bools and strings."""
    value = obj.get(field)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{field} is not an integer")
    return value


def conditions(obj: Obj) -> list[Obj]:
    value = status(obj).get("conditions") or []
    if not isinstance(value, list):
        raise TypeError("status.conditions is not a list")
    return [c for c in value if isinstance(c, Mapping)]


def condition(obj: Obj, type_: str) -> Obj | None:
    for cond in conditions(obj):
        if cond.get("type") == type_:
            return cond
    return None


def condition_is(obj: Obj, type_: str, value: str = "True") -> bool:
    cond = condition(obj, type_)
    return cond is not None and cond.get("status") == value


def condition_text(cond: Obj | None) -> str:
    """`reason: message` of a condition, for human-readable messages."""
    if cond is None:
        return ""
    reason = str(cond.get("reason") or "")
    message = str(cond.get("message") or "")
    return f"{reason}: {message}" if reason and message else reason or message
