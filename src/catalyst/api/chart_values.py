"""What chart values may contain: JSON that every store backend keeps exactly.

``values`` is opaque chart input, but it is stored (SQLite, PostgreSQL or MariaDB), read
back with orjson and shown in answers. Some JSON that Python's parser accepts cannot make
that trip; `unsupported_member` finds the first member (in document order) that cannot:

- an integer outside -2**63 .. 2**64-1: orjson refuses to write it (and would read a
  longer one back as a float, losing digits);
- NaN, Infinity, -Infinity, or a number too large for a double (``1e400`` parses as
  infinity): not JSON at all, and orjson would silently store ``null``;
- a string or key with a lone surrogate (``"\\ud800"``): it has no UTF-8 encoding;
- nesting deeper than `MAX_DEPTH` levels, counted like MariaDB's ``JSON_DEPTH`` (the values
  object is level 1, its members level 2, and so on): MariaDB's ``JSON_VALID`` check
  refuses deeper documents, and orjson gives up at 255.

The walk is iterative, so no input can exhaust the interpreter's recursion limit.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 32
MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**64 - 1

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SHOWN_KEY_LENGTH = 64


@dataclass(frozen=True)
class UnsupportedMember:
    """Where (``.a.b[3]``, relative to the values object) and why, for a client to read."""

    path: str
    reason: str


def unsupported_member(values: Any) -> UnsupportedMember | None:
    """The first member of ``values`` that cannot be stored exactly, or None."""
    stack: list[tuple[Any, str, int]] = [(values, "", 1)]
    while stack:
        item, path, level = stack.pop()
        if level > MAX_DEPTH:
            return UnsupportedMember(path, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            children: list[tuple[Any, str, int]] = []
            for key, child in item.items():
                key_path = path + _key_path(key)
                if isinstance(key, str) and not _is_unicode(key):
                    return UnsupportedMember(key_path, _NOT_UNICODE)
                children.append((child, key_path, level + 1))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(
                (child, f"{path}[{index}]", level + 1)
                for index, child in reversed(list(enumerate(item)))
            )
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not MIN_INTEGER <= item <= MAX_INTEGER:
                return UnsupportedMember(
                    path, f"integers must be between {MIN_INTEGER} and {MAX_INTEGER} (64 bits)"
                )
        elif isinstance(item, float):
            if not math.isfinite(item):
                return UnsupportedMember(
                    path,
                    "must be a finite number (NaN, Infinity and numbers beyond the range "
                    "of a double such as 1e400 are not JSON)",
                )
        elif isinstance(item, str) and not _is_unicode(item):
            return UnsupportedMember(path, _NOT_UNICODE)
    return None


_NOT_UNICODE = "must be valid Unicode text (no lone surrogates such as \\ud800)"


def _is_unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _key_path(key: Any) -> str:
    text = str(key)
    if _PLAIN_KEY.fullmatch(text):
        return "." + text
    if len(text) > _SHOWN_KEY_LENGTH:
        text = text[:_SHOWN_KEY_LENGTH] + "..."
    # ensure_ascii: the path appears in answers, and a lone surrogate must not.
    return "[" + json.dumps(text, ensure_ascii=True) + "]"
