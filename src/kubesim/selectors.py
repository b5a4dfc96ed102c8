"""Label and field selectors, parsed and matched like kube-apiserver (k8s-semantics B11/B12).

Guarantees:

* :func:`parse_label_selector` accepts every string form of ``k8s.io/apimachinery``
  ``labels.Parse``: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``,
  ``k`` (exists), ``!k`` (does not exist), plus the numeric ``k>n`` / ``k<n``;
  requirements are joined by commas (AND). The empty string selects everything.
  Bad syntax or an invalid label key/value raises ``ApiError`` 400 whose message starts
  with ``unable to parse requirement:``.
* :func:`label_selector_from_spec` turns a ``metav1.LabelSelector`` dict
  (``matchLabels`` + ``matchExpressions``) into the same :class:`LabelSelector`; an empty
  selector matches everything (callers that need "nil selects nothing" check for None).
* :func:`parse_field_selector` supports ``=``, ``==`` and ``!=`` on ``metadata.name``,
  ``metadata.namespace`` and the type's own ``field_selectors``; an unknown field is a
  400 listing the supported ones (for a custom resource the apiextensions server's
  ``field label not supported: <field>``; CRD ``selectableFields`` are not emulated).
  Values may escape ``\\``, ``,`` and ``=`` with a backslash.

Awkward cases: an object without a label matches ``k!=v`` and ``k notin (...)``; a field
that is absent from the object compares as the empty string (``spec.nodeName=`` selects
unscheduled pods), booleans compare as ``true``/``false``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubesim.errors import ApiError, bad_request

if TYPE_CHECKING:
    from kubesim.resources import ResourceType

# Label syntax (apimachinery validation): a name segment is at most 63 characters of
# alphanumerics, '-', '_' and '.', starting and ending alphanumeric; a key may carry a
# DNS-subdomain prefix ("example.com/name").
_NAME_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

# Operators of a label requirement.
OP_EQUALS = "="
OP_NOT_EQUALS = "!="
OP_IN = "in"
OP_NOT_IN = "notin"
OP_EXISTS = "exists"
OP_DOES_NOT_EXIST = "!"
OP_GREATER = "gt"
OP_LESS = "lt"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One label requirement: ``key <operator> values``."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        has = self.key in labels
        value = labels.get(self.key)
        if self.operator in (OP_EQUALS, OP_IN):
            return has and value in self.values
        if self.operator in (OP_NOT_EQUALS, OP_NOT_IN):
            return not has or value not in self.values
        if self.operator == OP_EXISTS:
            return has
        if self.operator == OP_DOES_NOT_EXIST:
            return not has
        if self.operator in (OP_GREATER, OP_LESS):
            if not has:
                return False
            try:
                have = int(str(value))
                want = int(self.values[0])
            except ValueError:
                return False
            return have > want if self.operator == OP_GREATER else have < want
        return False


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A conjunction of requirements; no requirements selects everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def _parse_error(detail: str) -> ApiError:
    return bad_request(f"unable to parse requirement: {detail}")


def _validate_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    if "/" in key and not prefix:
        raise _parse_error(f'key: Invalid value: "{key}": prefix part must be non-empty')
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.match(prefix)):
        raise _parse_error(
            f'key: Invalid value: "{key}": prefix part a lowercase RFC 1123 subdomain '
            "must consist of lower case alphanumeric characters, '-' or '.'"
        )
    if not name or len(name) > 63 or not _NAME_RE.match(name):
        raise _parse_error(
            f'key: Invalid value: "{key}": name part must consist of alphanumeric '
            "characters, '-', '_' or '.', and must start and end with an alphanumeric "
            "character"
        )


def _validate_value(index: int, key: str, value: str) -> None:
    if value and (len(value) > 63 or not _NAME_RE.match(value)):
        raise _parse_error(
            f'values[{index}][{key}]: Invalid value: "{value}": a valid label must be an '
            "empty string or consist of alphanumeric characters, '-', '_' or '.', and "
            "must start and end with an alphanumeric character"
        )


# --- label selector lexer/parser ---------------------------------------------------------

_SPECIAL = "!=<>(),"


def _tokenize(s: str) -> list[str]:
    """Split into identifiers and the operator tokens ``== != = ! ( ) , < >``."""
    tokens: list[str] = []
    i = 0
    while i < len(s):
        ch = s[i]
        if ch.isspace():
            i += 1
            continue
        if ch in _SPECIAL:
            two = s[i : i + 2]
            if two in ("==", "!="):
                tokens.append(two)
                i += 2
            else:
                tokens.append(ch)
                i += 1
            continue
        j = i
        while j < len(s) and not s[j].isspace() and s[j] not in _SPECIAL:
            j += 1
        tokens.append(s[i:j])
        i = j
    return tokens


def _is_identifier(tok: str | None) -> bool:
    return tok is not None and tok not in ("==", "!=") and tok not in _SPECIAL


class _LabelParser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str | None:
        tok = self.peek()
        self.pos += 1
        return tok

    def parse(self) -> LabelSelector:
        requirements: list[Requirement] = []
        while True:
            requirements.append(self.requirement())
            tok = self.take()
            if tok is None:
                break
            if tok != ",":
                raise _parse_error(f"found '{tok}', expected: ',' or 'end of string'")
            if self.peek() is None:
                raise _parse_error("found '', expected: identifier after ','")
        # apimachinery sorts requirements by key; order never changes the result, but a
        # stable order makes selectors comparable.
        return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))

    def requirement(self) -> Requirement:
        tok = self.take()
        if tok == "!":
            key = self.take()
            if not _is_identifier(key):
                raise _parse_error(f"found '{key or ''}', expected: identifier")
            assert key is not None
            _validate_key(key)
            return Requirement(key, OP_DOES_NOT_EXIST)
        if not _is_identifier(tok):
            raise _parse_error(f"found '{tok or ''}', expected: !, identifier, or 'end of string'")
        assert tok is not None
        key = tok
        _validate_key(key)
        op = self.peek()
        if op is None or op == ",":
            return Requirement(key, OP_EXISTS)
        self.take()
        if op in ("=", "==", "!="):
            value = self.peek()
            if _is_identifier(value):
                self.take()
            else:
                value = ""  # "k=" selects an empty value
            assert value is not None
            _validate_value(0, key, value)
            return Requirement(key, OP_NOT_EQUALS if op == "!=" else OP_EQUALS, (value,))
        if op in (">", "<"):
            value = self.take()
            if not _is_identifier(value) or not re.fullmatch(r"-?\d+", value or ""):
                raise _parse_error(
                    f"for 'Gt', 'Lt' operators, the value must be an integer, got '{value or ''}'"
                )
            assert value is not None
            return Requirement(key, OP_GREATER if op == ">" else OP_LESS, (value,))
        if op in (OP_IN, OP_NOT_IN):
            return Requirement(key, op, self.value_set(key))
        raise _parse_error(f"found '{op}', expected: in, notin, =, ==, !=, gt, lt")

    def value_set(self, key: str) -> tuple[str, ...]:
        if self.take() != "(":
            raise _parse_error("found '', expected: '('")
        values: list[str] = []
        expect_value = True
        while True:
            tok = self.take()
            if tok is None:
                raise _parse_error("found '', expected: ')'")
            if tok == ")":
                if expect_value and values:
                    values.append("")  # "(a,)" carries an empty value
                break
            if tok == ",":
                if expect_value:
                    values.append("")
                expect_value = True
                continue
            if not _is_identifier(tok) or not expect_value:
                raise _parse_error(f"found '{tok}', expected: ',', ')' or identifier")
            values.append(tok)
            expect_value = False
        if not values:
            raise _parse_error("for 'in', 'notin' operators, values set can't be empty")
        for i, v in enumerate(values):
            _validate_value(i, key, v)
        return tuple(values)


def parse_label_selector(s: str) -> LabelSelector:
    """Parse a ``labelSelector`` query parameter (400 ``unable to parse requirement`` on error)."""
    if not s or not s.strip():
        return LabelSelector()
    return _LabelParser(s).parse()


def label_selector_from_spec(d: Mapping[str, Any] | None) -> LabelSelector:
    """Convert a ``metav1.LabelSelector`` (matchLabels + matchExpressions)."""
    if not d:
        return LabelSelector()
    requirements: list[Requirement] = []
    for key, value in (d.get("matchLabels") or {}).items():
        requirements.append(Requirement(str(key), OP_EQUALS, (str(value),)))
    for expr in d.get("matchExpressions") or []:
        key = str(expr.get("key", ""))
        operator = expr.get("operator")
        values = tuple(str(v) for v in expr.get("values") or ())
        if operator == "In":
            requirements.append(Requirement(key, OP_IN, values))
        elif operator == "NotIn":
            requirements.append(Requirement(key, OP_NOT_IN, values))
        elif operator == "Exists":
            requirements.append(Requirement(key, OP_EXISTS))
        elif operator == "DoesNotExist":
            requirements.append(Requirement(key, OP_DOES_NOT_EXIST))
        else:
            raise bad_request(f'"{operator}" is not a valid label selector operator')
    return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))


# --- field selectors ----------------------------------------------------------------------

ALWAYS_SUPPORTED_FIELDS: tuple[str, ...] = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    field: str
    negated: bool
    value: str

    def matches(self, obj: Mapping[str, Any]) -> bool:
        equal = field_value(obj, self.field) == self.value
        return not equal if self.negated else equal


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A conjunction of ``field=value`` / ``field!=value`` terms."""

    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(r.matches(obj) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The string form of a dotted field, as the apiserver's field sets render it."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def _split_unescaped(s: str, sep: str) -> list[str]:
    parts: list[str] = []
    buf: list[str] = []
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "\\" and i + 1 < len(s):
            buf.append(s[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return parts


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def _split_term(term: str) -> tuple[str, str, str] | None:
    """Find the first unescaped operator in ``term``; returns (field, op, value)."""
    i = 0
    while i < len(term):
        if term[i] == "\\":
            i += 2
            continue
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
        i += 1
    return None


def parse_field_selector(s: str, rt: ResourceType) -> FieldSelector:
    """Parse a ``fieldSelector`` query parameter for resource type ``rt``."""
    if not s or not s.strip():
        return FieldSelector()
    supported = ALWAYS_SUPPORTED_FIELDS + tuple(
        f for f in rt.field_selectors if f not in ALWAYS_SUPPORTED_FIELDS
    )
    requirements: list[FieldRequirement] = []
    for term in _split_unescaped(s, ","):
        parsed = _split_term(term)
        if parsed is None:
            raise bad_request(f"invalid selector: '{s}'; can't understand '{term}'")
        field, op, value = parsed
        field = field.strip()
        if field not in supported:
            if rt.custom:
                raise bad_request(f"field label not supported: {field}")
            listed = ", ".join(f'"{f}"' for f in supported)
            raise bad_request(f'"{field}" is not a known field selector: only {listed}')
        requirements.append(FieldRequirement(field, op == "!=", _unescape(value)))
    return FieldSelector(tuple(requirements))
