"""Query-parameter parsing shared by the CRUD and watch handlers.

Errors match what kube-apiserver's ``ValidateListOptions`` returns: 422
Invalid on ``meta.k8s.io/ListOptions`` for inconsistent RV options, 400 for
unparsable numbers or selectors.
"""

from __future__ import annotations

from collections.abc import Mapping

from kubesim.errors import ApiError, bad_request, invalid
from kubesim.resources import Obj, ResourceType
from kubesim.selectors import parse_field_selector, parse_label_selector
from kubesim.watch import Predicate

TRUE_VALUES = frozenset({"1", "true", "True", "t", "T", "TRUE"})


def flag(query: Mapping[str, str], key: str) -> bool:
    return query.get(key, "") in TRUE_VALUES


def optional_flag(query: Mapping[str, str], key: str) -> bool | None:
    if key not in query:
        return None
    return query[key] in TRUE_VALUES


def int_param(query: Mapping[str, str], key: str, default: int = 0) -> int:
    raw = query.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f'invalid value for {key}: "{raw}"') from None


def parse_rv(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f'invalid resource version: "{raw}"') from None
    if value < 0:
        raise bad_request(f'invalid resource version: "{raw}"')
    return value


def list_options_invalid(field: str, message: str) -> ApiError:
    return invalid(
        "ListOptions",
        "",
        [{"reason": "FieldValueForbidden", "message": message, "field": field}],
        group="meta.k8s.io",
    )


def too_large_rv(requested: int, current: int) -> ApiError:
    return ApiError(
        "Timeout",
        f"Too large resource version: {requested}, current: {current}",
        details={
            "causes": [
                {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
            ],
            "retryAfterSeconds": 1,
        },
        headers={"Retry-After": "1"},
    )


def build_predicate(
    rt: ResourceType, query: Mapping[str, str], *, name: str | None = None
) -> Predicate | None:
    """Label and field selector (plus an item name for named watches) as one predicate."""
    label_raw = query.get("labelSelector", "")
    field_raw = query.get("fieldSelector", "")
    if name is not None:
        field_raw = f"metadata.name={name}" + (f",{field_raw}" if field_raw else "")
    if not label_raw and not field_raw:
        return None
    label_sel = parse_label_selector(label_raw) if label_raw else None
    field_sel = parse_field_selector(field_raw, rt) if field_raw else None

    def predicate(obj: Obj) -> bool:
        if label_sel is not None and not label_sel.matches(
            obj.get("metadata", {}).get("labels") or {}
        ):
            return False
        return field_sel is None or bool(field_sel.matches(obj))

    return predicate


def has_selectors(query: Mapping[str, str]) -> bool:
    return bool(query.get("labelSelector") or query.get("fieldSelector"))
