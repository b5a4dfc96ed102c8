"""The dashboard's browser tests: a live Catalyst (embedded kubesim, fast watcher) and
Debian's Chromium driven by Playwright's async API in the test's own event loop.

No browser is downloaded: Playwright launches the ``chromium`` found on PATH (``make
browser`` installs Debian's package). Every page gets a bounded default timeout, and
`screenshot` saves pictures under ``var/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.support.live import LiveCatalyst, live_catalyst
from tests.support.live_cluster import FAST_WATCHER

WAIT_MS = 30_000
SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"

expect.set_options(timeout=WAIT_MS)


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveCatalyst]:
    async with live_catalyst(tmp_path / "data", **FAST_WATCHER) as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: run `make browser`")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser, live: LiveCatalyst) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    opened = await context.new_page()
    opened.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        await context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


async def sign_in(page: Page, token: str) -> None:
    """Open the dashboard and sign in with ``token``; returns once the list is live."""
    await page.goto("/")
    await page.get_by_label("API token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#stream-state")).to_have_text("Live")


async def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path
