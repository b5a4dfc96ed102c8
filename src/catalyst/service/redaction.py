"""Hiding secrets in chart values before they are shown or logged.

Any mapping key whose name contains ``password``, ``secret`` or ``token`` (case-insensitive),
at any depth, inside objects and arrays alike, has its value replaced by ``"***"`` — whatever
that value is (a string, a number, or a whole nested object). The input is never modified;
a redacted copy is returned. The unredacted values are still what Helm receives.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REDACTED = "***"
_SECRET_WORDS = ("password", "secret", "token")


def is_secret_key(key: object) -> bool:
    """True when a values key names a secret."""
    lowered = str(key).lower()
    return any(word in lowered for word in _SECRET_WORDS)


def redact_secrets(value: Any) -> Any:
    """A copy of ``value`` with every secret replaced by ``"***"``."""
    if isinstance(value, Mapping):
        return {
            key: REDACTED if is_secret_key(key) else redact_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_secrets(item) for item in value]
    return value
