"""The dashboard in a real browser against a live Catalyst: a refused token, sign in, watch
an environment appear and go from ``starting`` to ``running`` with no reload, open it, read
its history, follow its install log to the end, rebuild it; sign out."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Page, expect

from tests.e2e.dashboard.conftest import screenshot, sign_in
from tests.support.live import LiveCatalyst
from tests.support.live_api import create_environment

# Records, per environment id, every status its row shows, in order (a test-side observer
# installed before the environment exists, so its first status cannot be missed).
RECORD_STATUSES = """() => {
  window.__statuses = {};
  const body = document.querySelector("table.envs tbody");
  new MutationObserver(() => {
    for (const row of body.querySelectorAll("tr[data-id]")) {
      const seen = (window.__statuses[row.dataset.id] ??= []);
      if (seen.at(-1) !== row.dataset.status) seen.push(row.dataset.status);
    }
  }).observe(body, {childList: true, subtree: true});
}"""


async def test_an_environment_changes_live_and_its_page_shows_history_and_logs(
    page: Page, live: LiveCatalyst, api: httpx.AsyncClient
) -> None:
    await page.goto("/")
    await page.get_by_label("API token").fill("not-a-token")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("401 Unauthorized: invalid API token")
    assert await page.evaluate("sessionStorage.length") == 0
    await sign_in(page, live.admin_token)
    await page.evaluate("window.__sameDocument = true")
    await expect(page.get_by_text("0 of 0 environments")).to_be_visible()

    await page.evaluate(RECORD_STATUSES)
    env_id = await create_environment(api, "watched-wiki")
    row = page.locator(f'tr[data-id="{env_id}"]')
    await expect(row).to_contain_text("watched-wiki")
    await expect(row.locator(".badge")).to_have_text("running")
    statuses = (await page.evaluate("window.__statuses"))[str(env_id)]
    assert statuses[0] == "starting", statuses
    assert statuses[-1] == "running", statuses
    assert await page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    await expect(row).to_contain_text("AllResourcesCurrent")
    await screenshot(page, "environments")

    await row.get_by_role("link", name="watched-wiki").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"watched-wiki (#{env_id})")
    timeline = page.locator("ol.timeline li")
    await expect(timeline.last).to_have_attribute("data-to", "running")
    await expect(timeline.first).to_have_attribute("data-to", "starting")
    await expect(page.locator("table.resources tbody tr").first).to_contain_text("Current")
    # Secrets stay redacted.
    await expect(page.locator("pre.values")).to_contain_text('"password": "***"')

    await expect(page.get_by_label("Stream (chart/container)")).to_have_value(
        "mediawiki/install-mediawiki"
    )
    await page.get_by_role("button", name="Follow").click()
    logs = page.get_by_role("log")
    await expect(logs).to_contain_text("Preparing worktree (mediawiki/core")
    await expect(page.locator("[data-log-state]")).to_have_text("ended (16 lines)")
    await expect(logs.locator(".log-line").last).to_have_text("Done: the wiki is installed")
    assert await page.evaluate("window.__sameDocument") is True
    await screenshot(page, "environment")

    # Rebuild with the values shown: the page follows it back to running.
    changes = await timeline.count()
    await page.get_by_role("button", name="Rebuild…").click()
    dialog = page.get_by_role("dialog", name="Rebuild with these values")
    await expect(dialog.get_by_label("Values (JSON)")).to_have_value(
        re.compile('"branch": "master"')
    )
    await dialog.get_by_role("button", name="Rebuild").click()
    await expect(dialog.get_by_role("alert")).to_contain_text("Some values are still ***")
    await dialog.get_by_role("button", name="Rebuild").click()  # send them as they are
    await expect(dialog).to_be_hidden()
    await expect(timeline.nth(changes)).to_have_attribute("data-to", "starting")
    await expect(timeline.last).to_have_attribute("data-to", "running")
    await expect(page.locator("dl[data-fields]")).to_have_attribute("data-status", "running")

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("API token")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0
