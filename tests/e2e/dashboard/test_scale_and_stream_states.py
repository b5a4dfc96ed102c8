"""The environments table at 1,000 environments, and the watch stream's states, in a real
browser. The watch stream is served by the test (Playwright's request routing) so the page
sees exactly 1,000 environments, a stale watcher (then a heartbeat saying it is fresh
again), a broken connection and a resume; every other request goes to the live Catalyst.
The heartbeats of the real service are tested in ``tests/e2e/service/test_watch_stream.py``."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import Page, Route, expect

from tests.e2e.dashboard.conftest import WAIT_MS, screenshot
from tests.support.live import LiveCatalyst
from tests.support.waiting import bounded

COUNT = 1000
STATUSES = ("running", "starting", "failed", "running")
# Generous for a loaded 2-core machine; a frame is 16 ms.
FILTER_BUDGET_MS = 500
LOG_LINES = 5000


def environment(i: int, *, status: str | None = None) -> dict[str, Any]:
    created = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=i)
    stamp = created.isoformat().replace("+00:00", "Z")
    return {
        "id": i,
        "name": f"load-{i:04d}",
        "chartName": "mediawiki",
        "status": status or STATUSES[i % len(STATUSES)],
        "statusReason": "AllResourcesCurrent",
        "statusMessage": "",
        "statusObservedAt": stamp,
        "stale": True,
        "failureKind": None,
        "expiresAt": None,
        "createdAt": stamp,
        "updatedAt": stamp,
        "values": {},
    }


def sse(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"event: {event}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return head + f"data: {json.dumps(data)}\n\n"


async def test_a_thousand_environments_are_paged_and_the_stream_states_are_shown(
    page: Page, live: LiveCatalyst
) -> None:
    resumes: list[str | None] = []
    broken = True
    second_refused = asyncio.Event()

    async def watch_stream(route: Route) -> None:
        if not resumes and route.request.headers.get("last-event-id") is None:
            resumes.append(None)
            body = "".join(sse("ADDED", environment(i)) for i in range(1, COUNT + 1))
            body += ": heartbeat\n\n" + sse("SYNCED", {}, 5000)
        else:
            resumes.append(route.request.headers.get("last-event-id"))
            if broken:
                await route.abort("connectionreset")
                if len(resumes) >= 3:
                    second_refused.set()
                return
            # A heartbeat (no change) says the watcher's data is fresh again.
            body = sse("MODIFIED", environment(7, status="deleting"), 5001)
            body += ": ping watcher=fresh\n\n"
        await route.fulfill(status=200, content_type="text/event-stream", body=body)

    await page.route("**/api/environments?watch=1", watch_stream)
    await page.goto("/")
    await page.get_by_label("API token").fill(live.admin_token)
    await page.get_by_role("button", name="Sign in").click()

    await expect(page.get_by_text(f"{COUNT} of {COUNT} environments")).to_be_visible()
    rows = page.locator("table.envs tbody tr")
    await expect(rows).to_have_count(50)
    await expect(rows.first).to_have_attribute("data-id", str(COUNT))  # newest first
    await expect(page.get_by_text("Page 1 of 20")).to_be_visible()
    await expect(page.get_by_role("status").filter(has_text="stale")).to_be_visible()

    # The server's stream ended and the next connections break: reconnecting, with backoff,
    # resuming after the last event id seen.
    await bounded(second_refused.wait(), "two refused resumes", within=WAIT_MS / 1000)
    await expect(page.locator("#stream-state")).to_have_text("Reconnecting…")
    assert resumes[1:] == ["5000", "5000"], resumes

    # The connection comes back: the change it carries shows without a reload.
    broken = False
    await page.get_by_label("Search").fill("load-0007")
    await expect(rows.first.locator(".badge")).to_have_text("deleting")
    await expect(page.get_by_role("status").filter(has_text="stale")).to_be_hidden()
    await page.get_by_label("Search").fill("")

    await page.get_by_role("button", name="Next").click()
    await expect(page.get_by_text("Page 2 of 20")).to_be_visible()
    await expect(rows.first).to_have_attribute("data-id", str(COUNT - 50))

    # Filtering 1,000 rows redraws within a frame or so.
    elapsed = await page.evaluate(
        """async () => {
          const input = document.querySelector("input[name=text]");
          const start = performance.now();
          input.value = "load-0007";
          input.dispatchEvent(new Event("input", {bubbles: true}));
          await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
          return performance.now() - start;
        }"""
    )
    print(f"filter redraw over {COUNT} environments: {elapsed:.1f} ms")
    assert elapsed < FILTER_BUDGET_MS
    await expect(rows).to_have_count(1)
    await expect(page.get_by_text(f"1 of {COUNT} environments")).to_be_visible()

    # Usable on a narrow screen: nothing wider than the viewport.
    await page.set_viewport_size({"width": 380, "height": 800})
    await page.get_by_label("Search").fill("")
    await expect(rows).to_have_count(50)
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await screenshot(page, "environments-narrow", full_page=False)

    # A log of thousands of lines arrives whole and stays scrolled to its end.
    async def log_stream(route: Route) -> None:
        lines = (
            json.dumps({"logs": [{"timestamp": "2026-11-01T00:00:00Z", "log": f"line {n}"}]})
            for n in range(1, LOG_LINES + 1)
        )
        body = "".join(f"data: {line}\n\n" for line in lines)
        await route.fulfill(status=200, content_type="text/event-stream", body=body)

    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.route("**/api/environments/7/logs?*", log_stream)
    await page.get_by_label("Search").fill("load-0007")
    await page.get_by_role("link", name="load-0007").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("load-0007 (#7)")
    started = await page.evaluate("performance.now()")
    await page.get_by_role("button", name="Follow").click()
    await expect(page.locator("[data-log-state]")).to_have_text(f"ended ({LOG_LINES} lines)")
    took = await page.evaluate("performance.now()") - started
    print(f"{LOG_LINES} log lines shown in {took:.0f} ms")
    logs = page.get_by_role("log")
    await expect(logs.locator(".log-line")).to_have_count(LOG_LINES)
    assert await logs.evaluate("box => box.scrollHeight - box.scrollTop - box.clientHeight < 2")
