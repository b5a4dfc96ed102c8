"""Kubelet log line parsing and the choice of pod to follow."""

from __future__ import annotations

from datetime import UTC, datetime

from catalyst.cluster.logs import parse_log_line, parse_timestamp, pick_pod


def test_parses_nanosecond_timestamps() -> None:
    line = parse_log_line(b"2026-11-25T02:43:48.123456789Z Preparing worktree\n")
    assert line.timestamp == datetime(2026, 11, 25, 2, 43, 48, 123456, tzinfo=UTC)
    assert line.line == "Preparing worktree"


def test_parses_short_fractions_and_offsets() -> None:
    assert parse_timestamp("2026-11-25T02:43:48.1Z") == datetime(
        2026, 11, 25, 2, 43, 48, 100000, tzinfo=UTC
    )
    assert parse_timestamp("2026-11-25T04:43:48+02:00") == datetime(
        2026, 11, 25, 2, 43, 48, tzinfo=UTC
    )
    assert parse_timestamp("not-a-time") is None


def test_keeps_spaces_and_empty_lines() -> None:
    assert parse_log_line(b"2026-11-25T02:43:48Z   indented  \r\n").line == "  indented  "
    assert parse_log_line(b"2026-11-25T02:43:48Z \n").line == ""


def test_line_without_timestamp_gets_read_time() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    line = parse_log_line(b"plain text line\n", now=now)
    assert (line.timestamp, line.line) == (now, "plain text line")


def pod(name: str, created: str, state: dict | None, container: str = "install") -> dict:
    statuses = [] if state is None else [{"name": container, "state": state}]
    return {
        "metadata": {"name": name, "creationTimestamp": created},
        "spec": {"containers": [{"name": container}]},
        "status": {"containerStatuses": statuses},
    }


def test_pick_pod_needs_a_started_container() -> None:
    waiting = pod("a", "2026-01-01T00:00:00Z", {"waiting": {"reason": "ContainerCreating"}})
    assert pick_pod([waiting, pod("b", "2026-01-01T00:00:00Z", None)], "install") is None
    assert pick_pod([pod("c", "2026-01-01T00:00:00Z", {"running": {}}, "other")], "install") is None


def test_pick_pod_prefers_running_then_newest() -> None:
    old_done = pod("old", "2026-01-01T00:00:00Z", {"terminated": {"exitCode": 1}})
    new_done = pod("new", "2026-01-01T00:01:00Z", {"terminated": {"exitCode": 1}})
    running = pod("run", "2026-01-01T00:00:30Z", {"running": {}})
    assert pick_pod([old_done, new_done], "install") is new_done
    assert pick_pod([old_done, running, new_done], "install") is running


def test_pick_pod_finds_init_containers() -> None:
    init = {
        "metadata": {"name": "p", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"initContainers": [{"name": "setup"}], "containers": [{"name": "main"}]},
        "status": {"initContainerStatuses": [{"name": "setup", "state": {"running": {}}}]},
    }
    assert pick_pod([init], "setup") is init
