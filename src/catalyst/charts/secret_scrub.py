"""Removing secret values from text that may quote them (Helm's error messages).

A template's ``fail`` call, a YAML error or a schema error can echo a value back. Before
such text leaves the renderer, every value found under a key whose name contains
``password``, ``secret`` or ``token`` (case-insensitive, at any depth, including every leaf
below such a key) is replaced by ``***``. Longer secrets are replaced first so that a secret
containing another is not left half-visible. Booleans and empty strings are not secrets.
A one-character secret will also mask that character elsewhere in the message: leaking
nothing matters more than a readable message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

SECRET_KEY_MARKERS = ("password", "secret", "token")
MASK = "***"


def is_secret_key(key: object) -> bool:
    """Whether values under this key are secrets."""
    lowered = str(key).lower()
    return any(marker in lowered for marker in SECRET_KEY_MARKERS)


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, bool) or value is None:
        return
    else:
        text = str(value)
        if text:
            yield text


def secret_values(values: Any) -> set[str]:
    """Every secret leaf value (as text) in a values tree."""
    found: set[str] = set()
    if isinstance(values, dict):
        for key, item in values.items():
            if is_secret_key(key):
                found.update(_leaves(item))
            else:
                found.update(secret_values(item))
    elif isinstance(values, list | tuple):
        for item in values:
            found.update(secret_values(item))
    return found


def scrub_secrets(text: str, values: Any) -> str:
    """`text` with every secret value of `values` replaced by ``***``."""
    for secret in sorted(secret_values(values), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
