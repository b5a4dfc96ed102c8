"""How ``catalyst env`` prints: kubectl-like tables (``-o table``, the default, and ``-o
wide``) and JSON (``-o json``: the API's objects unchanged, indented; one compact object per
line for streams, so ``jq`` reads them as they come).

Everything here is pure: strings in, strings out; ``now`` is passed in for ages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from catalyst.client.api import Environment, StatusChange, WatchEvent
from catalyst.client.durations import format_age

FORMATS = ("table", "wide", "json")
GAP = "   "  # kubectl's column padding
NONE = "<none>"

_COLUMNS = ("ID", "NAME", "CHART", "STATUS", "REASON", "AGE")
_WIDE = ("FAILURE", "EXPIRES", "MESSAGE")
# Streamed rows cannot be measured in advance: fixed minimum widths keep them aligned
# for usual values (longer values push the row right, as kubectl's do).
_WATCH_WIDTHS = (9, 5, 24, 10, 9, 22)


def to_json(document: Any) -> str:
    """A whole document, indented."""
    return json.dumps(document, indent=2, ensure_ascii=False)


def to_json_line(document: Any) -> str:
    """One document on one line (streams)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns, three spaces apart, the last one unpadded."""
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    lines = []
    for row in [headers, *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append(GAP.join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp of the API, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def age(value: object, now: datetime) -> str:
    moment = parse_time(value)
    return format_age((now - moment).total_seconds()) if moment else NONE


def _cell(value: object) -> str:
    if value is None or value == "":
        return NONE
    return " ".join(str(value).split())  # one line per row, whatever the message holds


def environment_row(environment: Environment, now: datetime, *, wide: bool = False) -> list[str]:
    row = [
        _cell(environment.get("id")),
        _cell(environment.get("name")),
        _cell(environment.get("chartName")),
        _cell(environment.get("status")),
        _cell(environment.get("statusReason")),
        age(environment.get("createdAt"), now),
    ]
    if wide:
        row += [
            _cell(environment.get("failureKind")),
            _cell(environment.get("expiresAt")),
            _cell(environment.get("statusMessage")),
        ]
    return row


def environments_table(
    environments: Sequence[Environment], now: datetime, *, wide: bool = False
) -> str:
    """The list (or one environment) as kubectl shows ``get``; a note when it is empty."""
    if not environments:
        return "No environments found."
    headers = [*_COLUMNS, *(_WIDE if wide else ())]
    return table(headers, [environment_row(e, now, wide=wide) for e in environments])


def history_table(changes: Sequence[StatusChange]) -> str:
    if not changes:
        return "No status changes."
    headers = ("ID", "AT", "FROM", "TO", "REASON", "SOURCE", "MESSAGE")
    rows = [
        [
            _cell(c.get("id")),
            _cell(c.get("at")),
            _cell(c.get("from")),
            _cell(c.get("to")),
            _cell(c.get("reason")),
            _cell(c.get("source")),
            _cell(c.get("message")),
        ]
        for c in changes
    ]
    return table(headers, rows)


def watch_header() -> str:
    return _fixed(("EVENT", *_COLUMNS))


def watch_row(event: WatchEvent, now: datetime) -> str | None:
    """One event as a table row; None for SYNCED and EXPIRED, which carry no environment
    (``-o json`` prints those too)."""
    if event.environment is None:
        return None
    return _fixed((event.type, *environment_row(event.environment, now)))


def _fixed(cells: Sequence[str]) -> str:
    padded = [cell.ljust(width) for cell, width in zip(cells[:-1], _WATCH_WIDTHS, strict=False)]
    return GAP.join([*padded, cells[-1]]).rstrip()
