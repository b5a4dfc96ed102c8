"""Go-style durations, as kubectl's ``--timeout`` takes them: ``30s``, ``10m``, ``1h30m``,
``1.5h``, ``500ms``; a bare number means seconds. Negative and empty durations are refused."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)")
_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")


def parse_duration(text: str) -> float:
    """Seconds in ``text``; `ValueError` with the offending text when it is not a duration."""
    text = text.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    position = 0
    total = 0.0
    for match in _PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position == 0 or position != len(text):
        raise ValueError(f"invalid duration {text!r} (examples: 30s, 10m, 1h30m)")
    return total


def format_age(seconds: float) -> str:
    """kubectl's short age: ``45s``, ``12m``, ``3h``, ``5d`` (two units while small:
    ``2m30s``, ``4h5m``, ``1d6h``)."""
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 10:
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    if minutes < 60:
        return f"{minutes}m"
    hours, mins = divmod(minutes, 60)
    if hours < 8:
        return f"{hours}h{mins}m" if mins else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days, hrs = divmod(hours, 24)
    if days < 8:
        return f"{days}d{hrs}h" if hrs else f"{days}d"
    return f"{days}d"
