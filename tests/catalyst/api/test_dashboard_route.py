"""``/`` and ``/dashboard/<file>``: the dashboard's page and assets come from the package,
with a Content-Security-Policy that allows this origin's scripts only; nothing else of the
package is served, and nothing of the API is shadowed."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import httpx
import pytest

from catalyst.dashboard import STATIC_DIR

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"
TYPES = {"js": "text/javascript", "css": "text/css"}


async def test_the_page_and_every_asset_it_loads_are_served_with_a_strict_policy(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy  # no 'unsafe-inline', no other origin
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "://" not in page.text  # nothing from another origin
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page.text) == []  # no inline script
    assets = re.findall(r'(?:src|href)="(/dashboard/[^"]+)"', page.text)
    assert sorted(assets) == ["/dashboard/app.css", "/dashboard/app.js"]
    for module in STATIC_DIR.glob("*.js"):
        assets.append(f"/dashboard/{module.name}")
        assert "innerHTML" not in module.read_text(), module.name  # text goes in as text
        assert "://" not in module.read_text(), module.name
    for asset in assets:
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert response.headers["content-type"].startswith(TYPES[asset.rsplit(".", 1)[1]])
        assert response.headers["content-security-policy"] == policy


@pytest.mark.parametrize("name", ["__init__.py", "..%2F__init__.py", "missing.js", "static"])
async def test_only_the_dashboards_files_are_served(client: httpx.AsyncClient, name: str) -> None:
    response = await client.get(f"/dashboard/{name}")
    assert response.status_code == 404
    assert set(response.json()) == {"statusCode", "statusText", "details"}


async def test_the_api_and_health_routes_are_not_shadowed(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/api/environments")).status_code == 401
    assert (await client.get("/index.html")).status_code == 404


def test_every_dashboard_file_ships_in_the_wheel() -> None:
    """pyproject's package-data names each file (an editable install would hide a gap)."""
    config = tomllib.loads(PYPROJECT.read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["catalyst.dashboard"]
    files = sorted(STATIC_DIR.iterdir())
    assert any(f.name == "index.html" for f in files)
    for file in files:
        relative = f"static/{file.name}"
        assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative
