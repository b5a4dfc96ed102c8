"""Hiding secrets in chart values, and in messages that may quote them, before they are
shown, stored or logged.

- `redact_secrets`: any mapping key whose name contains ``password``, ``secret`` or
  ``token`` (case-insensitive), at any depth, inside objects and arrays alike, has its
  value replaced by ``"***"`` — whatever that value is (a string, a number, or a whole
  nested object). The input is never modified; a redacted copy is returned. The
  unredacted values are still what Helm receives.
- `scrub_message`: text from the cluster (a rejection, an object's condition, a failed
  log stream) can quote a secret value that a chart put into an object name, a label or an
  annotation. Every secret value of the environment's values (the leaves under such keys,
  see `catalyst.charts.secret_scrub`, which scrubs Helm's errors the same way) is replaced
  by ``***`` — as written, and as the API server quotes it in JSON-escaped form (a value
  with a quote or a backslash). A value the chart transformed first (``upper``, ``b64enc``)
  is not recognised: only the values themselves are known.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from catalyst.charts.secret_scrub import MASK, secret_values

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


def message_scrubber(values: Any) -> Callable[[str], str]:
    """A function masking every secret value of ``values`` in a text (see module doc)."""
    spellings: set[str] = set()
    for secret in secret_values(values):
        spellings.add(secret)
        spellings.add(json.dumps(secret, ensure_ascii=False)[1:-1])
        spellings.add(json.dumps(secret)[1:-1])
    # Longest first, so a secret containing another is not left half visible.
    ordered = sorted((s for s in spellings if s), key=len, reverse=True)

    def scrub(text: str) -> str:
        for spelling in ordered:
            text = text.replace(spelling, MASK)
        return text

    return scrub


def scrub_message(text: str, values: Any) -> str:
    """``text`` with every secret value of ``values`` replaced by ``***``."""
    return message_scrubber(values)(text) if text else text
