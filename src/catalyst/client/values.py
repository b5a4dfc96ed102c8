"""``--values FILE|-``: chart values from a YAML or JSON file, or from standard input.

JSON is read as YAML (the JSON documents a user writes are YAML too); YAML dates stay
strings, as Helm reads them. The document must be a
mapping; an empty file means no values. Failures raise `ValuesError` naming the source.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml


class ValuesError(Exception):
    """The values could not be read or are not a mapping."""


def read_values(source: str | None) -> dict[str, Any]:
    """The values in file ``source`` (``-``: standard input; None: no values, ``{}``)."""
    if source is None:
        return {}
    name = "standard input" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise ValuesError(f"cannot read values from {name}: {error.strerror or error}") from error
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValuesError(f"values in {name} are neither YAML nor JSON: {error}") from error
    if document is None:
        return {}
    if not isinstance(document, dict):
        kind = type(document).__name__
        raise ValuesError(f"values in {name} must be a mapping, not a {kind}")
    # YAML dates and times become the strings Helm would see, so the body is plain JSON.
    plain: dict[str, Any] = json.loads(json.dumps(document, default=str))
    return plain
