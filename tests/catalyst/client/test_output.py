"""Tables and JSON of ``catalyst env``: aligned columns, ``<none>`` for empty cells, one line
per row whatever a message holds, wide columns, streamed watch rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from catalyst.client.api import WatchEvent
from catalyst.client.output import (
    environments_table,
    history_table,
    table,
    to_json_line,
    watch_header,
    watch_row,
)

NOW = datetime(2026, 11, 25, 10, 5, 0, tzinfo=UTC)
ENVIRONMENT = {
    "id": 17,
    "name": "wiki-0123456789",
    "chartName": "mediawiki",
    "status": "failed",
    "statusReason": "CrashLoopBackOff",
    "statusMessage": "pod web-1:\ncontainer mediawiki  restarted",
    "failureKind": "CrashLoopBackOff",
    "expiresAt": "2026-11-28T10:00:03Z",
    "createdAt": "2026-11-25T10:00:00Z",
}


def test_columns_are_aligned_three_spaces_apart() -> None:
    assert table(["A", "LONGER"], [["xyz", "1"], ["", "22"]]) == ("A     LONGER\nxyz   1\n      22")


def test_an_environment_row_shows_age_and_none() -> None:
    lines = environments_table([ENVIRONMENT, {"id": 3, "name": "x"}], NOW).splitlines()
    assert lines[0].split() == ["ID", "NAME", "CHART", "STATUS", "REASON", "AGE"]
    assert lines[1].split() == [
        "17",
        "wiki-0123456789",
        "mediawiki",
        "failed",
        "CrashLoopBackOff",
        "5m",
    ]
    assert lines[2].split() == ["3", "x", "<none>", "<none>", "<none>", "<none>"]
    assert len({line.index("STATUS") for line in lines[:1]}) == 1
    assert lines[1].index("failed") == lines[0].index("STATUS")


def test_wide_adds_failure_expiry_and_the_message_on_one_line() -> None:
    header, row = environments_table([ENVIRONMENT], NOW, wide=True).splitlines()
    assert header.split()[-3:] == ["FAILURE", "EXPIRES", "MESSAGE"]
    assert row.endswith("2026-11-28T10:00:03Z   pod web-1: container mediawiki restarted")


def test_empty_lists_say_so() -> None:
    assert environments_table([], NOW) == "No environments found."
    assert history_table([]) == "No status changes."


def test_history_rows() -> None:
    change = {
        "id": 4,
        "at": "2026-11-25T10:00:03Z",
        "from": None,
        "to": "starting",
        "reason": "Created",
        "source": "api",
        "message": "",
    }
    header, row = history_table([change]).splitlines()
    assert header.split() == ["ID", "AT", "FROM", "TO", "REASON", "SOURCE", "MESSAGE"]
    assert row.split() == [
        "4",
        "2026-11-25T10:00:03Z",
        "<none>",
        "starting",
        "Created",
        "api",
        "<none>",
    ]


def test_watch_rows_line_up_with_their_header_and_skip_events_without_an_object() -> None:
    header = watch_header()
    row = watch_row(WatchEvent("MODIFIED", "42", ENVIRONMENT), NOW)
    assert row is not None
    assert row.split()[:5] == ["MODIFIED", "17", "wiki-0123456789", "mediawiki", "failed"]
    assert row.index("failed") == header.index("STATUS")
    assert row.index("5m") == header.index("AGE")
    assert watch_row(WatchEvent("SYNCED", "41"), NOW) is None


def test_json_lines_have_kubectls_watch_event_shape() -> None:
    line = to_json_line(WatchEvent("SYNCED", "41").as_json())
    assert "\n" not in line
    assert json.loads(line) == {"type": "SYNCED", "id": "41", "object": None}
