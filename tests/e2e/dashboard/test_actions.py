"""Actions from the dashboard in a real browser against a live Catalyst: create an
environment from the chart's form (errors shown as readable messages), see its failure and
reason, delete it with confirmation. And data is always shown as text: markup in an
environment's name or values never becomes part of the page."""

from __future__ import annotations

import json
import re

import httpx
from playwright.async_api import Page, expect
from sqlalchemy import text

from tests.e2e.dashboard.conftest import screenshot, sign_in
from tests.support.live import LiveCatalyst
from tests.support.live_api import FAIL_ANNOTATION, create_environment


async def test_create_from_the_form_see_the_failure_then_delete(
    page: Page, live: LiveCatalyst
) -> None:
    await sign_in(page, live.alice_token)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="New").click()
    form = page.locator("form[data-create-form]")
    await expect(form).to_have_attribute("data-ready", "true")
    await expect(page.get_by_label("Chart", exact=True)).to_have_value("mediawiki")
    values_box = page.get_by_label("Values (JSON)")
    defaults = json.loads(await values_box.input_value())
    assert "extensions" in defaults  # the chart's own default values

    # Errors: JSON the browser cannot parse, then the API's own 422 in the contract's shape.
    await values_box.fill("{not json")
    await page.get_by_label("Name", exact=True).fill("broken-wiki")
    await page.get_by_role("button", name="Create").click()
    alert = form.get_by_role("alert")
    await expect(alert).to_contain_text("Values are not valid JSON")
    await values_box.fill(json.dumps(defaults, indent=2))
    await page.get_by_label("Name", exact=True).fill("Not_A_Label")
    await page.get_by_role("button", name="Create").click()
    await expect(alert).to_have_text(
        "422 Unprocessable Entity: name: must be a DNS-1123 label of at most 53 characters "
        "(lowercase letters, digits and '-', starting and ending with a letter or digit)"
    )
    await screenshot(page, "create")

    # Edit the defaults so the environment's pods fail, and create it.
    defaults["podAnnotations"] = {FAIL_ANNOTATION: "InvalidImageName"}
    await values_box.fill(json.dumps(defaults, indent=2))
    await page.get_by_label("Name", exact=True).fill("broken-wiki")
    await page.get_by_role("button", name="Create").click()
    title = page.get_by_role("heading", level=1)
    await expect(title).to_contain_text("broken-wiki (#")
    fields = page.locator("dl[data-fields]")
    await expect(fields).to_have_attribute("data-status", "failed")
    await expect(fields).to_contain_text("creation")  # failure kind
    reason = await page.locator("dl[data-fields] dt:text-is('Reason') + dd").inner_text()
    assert reason not in ("", "—")
    await expect(page.locator("ol.timeline li").last).to_have_attribute("data-to", "failed")
    await expect(page.locator("table.resources")).to_contain_text("Failed")
    await screenshot(page, "failed")
    env_id = int(page.url.rsplit("/", 1)[1])

    # The list shows it failed with the same reason.
    await page.get_by_role("link", name="← Environments").click()
    row = page.locator(f'tr[data-id="{env_id}"]')
    await expect(row.locator(".badge")).to_have_text("failed")
    await expect(row.locator("td.reason")).to_have_text(reason)
    await page.get_by_label("Status").select_option("running")
    await expect(row).to_have_count(0)
    await page.get_by_label("Status").select_option("failed")
    await expect(row).to_have_count(1)

    # Keep it: the pending expiry goes.
    await row.get_by_role("link", name="broken-wiki").click()
    expires = page.locator("dl[data-fields] dt:text-is('Expires') + dd")
    await expect(expires).to_have_text(re.compile(r"^in "))  # a creation failure's expiry
    await page.get_by_role("button", name="Keep").click()
    await expect(expires).to_have_text("—")

    # Delete, with confirmation: cancelling keeps it.
    await page.get_by_role("button", name="Delete…").click()
    dialog = page.get_by_role("dialog", name="Delete this environment?")
    await expect(dialog).to_contain_text("broken-wiki")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await page.get_by_role("button", name="Delete…").click()
    await dialog.get_by_role("button", name="Delete").click()
    await expect(title).to_have_text(f"broken-wiki (#{env_id}): deleted")
    await page.get_by_role("link", name="← Environments").click()
    await expect(page.get_by_text("0 of 0 environments")).to_be_visible()


async def test_markup_in_data_is_shown_as_text(
    page: Page, live: LiveCatalyst, api: httpx.AsyncClient
) -> None:
    hostile = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
    env_id = await create_environment(api, "plain-name", **{"note": hostile})
    # The API refuses such a name; the page must be safe even if the database held one.
    assert live.catalyst.database is not None
    async with live.catalyst.database.write() as connection:
        await connection.execute(
            text("UPDATE environments SET name = :name WHERE id = :id"),
            {"name": "<script>window.__xss = 3</script>", "id": env_id},
        )

    response = await page.goto("/")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    await sign_in(page, live.admin_token)
    link = page.get_by_role("link", name="<script>window.__xss = 3</script>")
    await expect(link).to_be_visible()
    await link.click()
    await expect(page.locator("pre.values")).to_contain_text(json.dumps(hostile)[1:-1])
    assert await page.evaluate("window.__xss") is None
    assert await page.locator("main script, main img").count() == 0
