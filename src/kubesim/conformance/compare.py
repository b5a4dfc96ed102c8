"""Compare two runs' normalised answers and classify the differences."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubesim.conformance.intentional import INTENTIONAL, Intentional
from kubesim.conformance.runner import Answer

MISSING = "(absent)"


@dataclass(frozen=True)
class Difference:
    sequence: str
    step: int
    request: str
    path: str
    kubesim: Any
    realkube: Any
    intentional: Intentional | None = None

    def describe(self) -> str:
        mark = f"intentional ({self.intentional.name})" if self.intentional else "UNEXPECTED"
        return (
            f"{self.sequence} step {self.step} [{self.request}] {self.path}: "
            f"kubesim={_short(self.kubesim)} realkube={_short(self.realkube)}  -- {mark}"
        )


def _short(value: Any) -> str:
    text = value if value == MISSING else json.dumps(value, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


def _walk(a: Any, b: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            here = f"{path}.{key}" if path else str(key)
            if key not in a:
                yield here, MISSING, b[key]
            elif key not in b:
                yield here, a[key], MISSING
            else:
                yield from _walk(a[key], b[key], here)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _walk(x, y, f"{path}[{index}]")
    elif a != b:
        yield path, a, b


def classify(sequence: str, request: str, path: str) -> Intentional | None:
    for entry in INTENTIONAL:
        if not fnmatch.fnmatchcase(sequence, entry.sequences):
            continue
        if not fnmatch.fnmatchcase(request, entry.requests):
            continue
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in entry.paths):
            return entry
    return None


def compare(sequence: str, sim: list[Answer], real: list[Answer]) -> list[Difference]:
    found: list[Difference] = []
    for a, b in zip(sim, real, strict=True):
        pairs = [("status", a.status, b.status)] if a.status != b.status else []
        pairs += [(f"body.{p}" if p else "body", x, y) for p, x, y in _walk(a.body, b.body, "")]
        for path, x, y in pairs:
            entry = classify(sequence, a.request, path)
            found.append(Difference(sequence, a.step, a.request, path, x, y, entry))
    return found
