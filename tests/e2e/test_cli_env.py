"""``catalyst env ...``: the real console script as a subprocess against a running Catalyst
(embedded kubesim, real HTTP): an environment's life (watch, create from stdin values, logs,
wait, list/get/history as tables and JSON, delete --wait, then 404), a failing chart
(``wait`` exits 3, a timeout exits 4, keep), a wrong token, and a URL where nothing listens.
Every wait is bounded; the watch is read line by line as it streams."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.live import LiveCatalyst, live_catalyst
from tests.support.live_api import FAIL_ANNOTATION, environment_body
from tests.support.live_cluster import FAST_WATCHER
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow

WAIT = 60.0
CATALYST = str(Path(sys.executable).parent / "catalyst")


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveCatalyst]:
    async with live_catalyst(tmp_path / "data", **FAST_WATCHER) as running:
        yield running


def cli_environment(url: str, token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALYST_")}
    env["CATALYST_URL"] = url
    if token is not None:
        env["CATALYST_TOKEN"] = token
    return env


async def start(
    live: LiveCatalyst, *args: str, stdin: bool = False, url: str | None = None
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        CATALYST,
        "env",
        *args,
        env=cli_environment(url or live.url, live.admin_token),
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(
    process: asyncio.subprocess.Process, stdin: str | None = None
) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(
        process.communicate(stdin.encode() if stdin is not None else None), WAIT
    )
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def cli(live: LiveCatalyst, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """Run ``catalyst env ARGS`` with the admin token; (exit status, stdout, stderr)."""
    return await finish(await start(live, *args, stdin=stdin is not None), stdin)


async def ok(live: LiveCatalyst, *args: str, stdin: str | None = None) -> str:
    code, out, err = await cli(live, *args, stdin=stdin)
    assert code == 0, (args, out, err)
    return out


async def next_json_line(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), WAIT)
    assert line, "the watch ended"
    event: dict[str, Any] = json.loads(line)
    return event


async def until_event(
    process: asyncio.subprocess.Process, kind: str, status: str | None = None
) -> dict[str, Any]:
    while True:
        event = await next_json_line(process)
        if event["type"] == kind and (status is None or event["object"]["status"] == status):
            return event


def columns(table: str) -> list[list[str]]:
    return [line.split() for line in table.strip().splitlines()]


async def test_an_environments_life_through_the_cli(live: LiveCatalyst) -> None:
    watch = await start(live, "watch", "-o", "json")
    try:
        assert (await next_json_line(watch))["type"] == "SYNCED"

        body = environment_body("cli-life")
        created = json.loads(
            await ok(
                live,
                *("create", "cli-life", "--chart", "mediawiki", "--values", "-", "-o", "json"),
                stdin=yaml.safe_dump(body["values"]),
            )
        )
        env_id = created["id"]
        assert (created["name"], created["status"]) == ("cli-life", "starting")
        assert created["values"]["mediawikiCore"]["password"] == "***"

        logs = await start(live, "logs", str(env_id), "--stream", "mediawiki/install-mediawiki")
        out = await ok(live, "wait", str(env_id), "--for=running", "--timeout", "1m")
        assert out.strip() == f"environment/{env_id} running"
        code, log_text, err = await finish(logs)
        assert code == 0, err
        assert "Installing Wiki" in log_text

        added = await until_event(watch, "ADDED")
        assert added["object"]["id"] == env_id
        running = await until_event(watch, "MODIFIED", "running")
        assert running["object"]["id"] == env_id
        assert int(running["id"]) > int(added["id"])
    finally:
        watch.send_signal(signal.SIGINT)
        code, _, err = await finish(watch)
    assert (code, err) == (130, ""), "Ctrl-C ends watch quietly with 130"

    header, row = columns(await ok(live, "list"))
    assert header == ["ID", "NAME", "CHART", "STATUS", "REASON", "AGE"]
    assert row[:4] == [str(env_id), "cli-life", "mediawiki", "running"]
    listed = json.loads(await ok(live, "list", "-o", "json"))
    assert [(e["id"], e["status"]) for e in listed] == [(env_id, "running")]
    got = json.loads(await ok(live, "get", str(env_id), "-o", "json"))
    assert (got["id"], got["status"]) == (env_id, "running")
    assert columns(await ok(live, "get", str(env_id), "-o", "wide"))[0][-3:] == [
        "FAILURE",
        "EXPIRES",
        "MESSAGE",
    ]

    latest = json.loads(await ok(live, "get", str(env_id), "--latest", "-o", "json"))
    assert {r["kind"] for r in latest["resources"]} >= {"Deployment", "Job"}

    extra = {**body["values"], "podLabels": {"note": "refreshed"}}
    out = await ok(live, "refresh", str(env_id), "--values", "-", stdin=json.dumps(extra))
    assert out.strip() == f"environment/{env_id} refreshing"
    await ok(live, "wait", str(env_id), "--for=running", "--timeout", "1m")
    got = json.loads(await ok(live, "get", str(env_id), "-o", "json"))
    assert got["values"]["podLabels"] == {"note": "refreshed"}

    history = json.loads(await ok(live, "history", str(env_id), "-o", "json"))
    assert ("starting", "running") in [(c["from"], c["to"]) for c in history]
    table = columns(await ok(live, "history", str(env_id)))
    assert table[0][:4] == ["ID", "AT", "FROM", "TO"]

    out = await ok(live, "delete", str(env_id), "--wait", "--timeout", "1m")
    assert out.strip() == f"environment/{env_id} deleted"
    code, out, err = await cli(live, "get", str(env_id))
    assert (code, out) == (1, "")
    assert err.startswith("error: 404 Not Found"), err
    assert (await ok(live, "list")).strip() == "No environments found."


async def test_a_failing_environment_ends_wait_with_its_own_status(
    live: LiveCatalyst, tmp_path: Path
) -> None:
    values = tmp_path / "failing.json"
    values.write_text(json.dumps({"podAnnotations": {FAIL_ANNOTATION: "InvalidImageName"}}))
    out = await ok(live, "create", "cli-broken", "--chart", "mediawiki", "--values", str(values))
    env_id = int(out.split()[0].removeprefix("environment/"))
    assert out.strip() == f"environment/{env_id} created"

    code, _, err = await cli(live, "wait", str(env_id), "--for", "running", "--timeout", "1m")
    assert code == 3, err
    assert f"environment {env_id} failed" in err
    failed = json.loads(await ok(live, "wait", str(env_id), "--for=failed", "-o", "json"))
    assert failed["status"] == "failed"
    assert failed["expiresAt"] is not None  # a creation failure expires ...

    code, _, err = await cli(live, "wait", str(env_id), "--for=deleted", "--timeout", "1s")
    assert code == 4, err
    assert "timed out after 1s" in err
    assert "last status: failed" in err

    kept = json.loads(await ok(live, "keep", str(env_id), "-o", "json"))
    assert kept["expiresAt"] is None  # ... unless kept
    reasons = [
        c["reason"] for c in json.loads(await ok(live, "history", str(env_id), "-o", "json"))
    ]
    assert reasons[-1] == "ExpiryRemoved"

    code, _, err = await cli(live, "wait", "999", "--for=running")
    assert code == 1
    assert "environment 999 not found" in err


async def test_watch_resumes_after_a_cut_connection_without_listing_again(
    live: LiveCatalyst,
) -> None:
    async with TcpProxy(live.url) as proxy:
        watch = await start(live, "watch", "-o", "json", url=proxy.url)
        try:
            synced = await next_json_line(watch)
            assert synced["type"] == "SYNCED"
            proxy.cut()  # resets the stream and refuses the reconnects for now
            env_id = json.loads(
                await ok(live, "create", "cli-cut", "--chart", "mediawiki", "-o", "json")
            )["id"]
            proxy.restore()
            # Resumed with Last-Event-ID: the change made while cut, and no second list.
            event = await next_json_line(watch)
            assert (event["type"], event["object"]["id"]) == ("ADDED", env_id)
            assert int(event["id"]) > int(synced["id"])
        finally:
            watch.send_signal(signal.SIGINT)
            code, _, err = await finish(watch)
        assert (code, err) == (130, "")


async def test_api_errors_are_reported_with_the_contracts_error(live: LiveCatalyst) -> None:
    process = await asyncio.create_subprocess_exec(
        CATALYST,
        *("env", "list", "--token", "wrong"),
        env=cli_environment(live.url, None),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    code, _, err = await finish(process)
    assert code == 1
    assert err.startswith("error: 401 Unauthorized"), err
    assert "CATALYST_TOKEN" in err

    code, _, err = await cli(live, "create", "Not_A_Label", "--chart", "mediawiki")
    assert code == 1
    assert err.startswith("error: 422 Unprocessable Entity: name"), err


async def test_a_url_where_nothing_listens_is_named(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9"  # discard: nothing listens there
    for args in (("list",), ("wait", "1", "--for=running")):
        process = await asyncio.create_subprocess_exec(
            CATALYST,
            "env",
            *args,
            env=cli_environment(url, "token"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        code, out, err = await finish(process)
        assert (code, out) == (1, "")
        assert err.strip() == f"error: cannot reach the Catalyst API at {url}: connection refused"
