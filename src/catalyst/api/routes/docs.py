"""``/api/docs``: Swagger UI for the OpenAPI document, with no request leaving the host.

FastAPI's default page loads Swagger UI's script and stylesheet from a CDN and its favicon
from fastapi.tiangolo.com; an operator without internet access would get a blank page.
Here the three assets come from the ``fastapi-offline`` package (pinned in pyproject.toml:
it ships Swagger UI 5's ``swagger-ui-bundle.js``, ``swagger-ui.css`` and a favicon, and
depends on nothing but FastAPI) and are served under ``/api/docs/``. The online spec
validator badge is switched off (``validatorUrl: null``), since it too would call out.
Like the document itself, the page and its assets need no token.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from catalyst.api.errors import ApiError

OPENAPI_URL = "/api/openapi.json"
DOCS_URL = "/api/docs"

_ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}

router = APIRouter(include_in_schema=False)


@router.get(DOCS_URL)
async def swagger_ui(request: Request) -> HTMLResponse:
    base = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=base + OPENAPI_URL,
        title="Catalyst API",
        swagger_js_url=f"{base}{DOCS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{base}{DOCS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{base}{DOCS_URL}/favicon.png",
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(DOCS_URL + "/{asset}")
async def swagger_ui_asset(asset: str) -> FileResponse:
    media_type = _ASSETS.get(asset)
    if media_type is None:  # only the named files: nothing else of the package is served
        raise ApiError(404, f"no route {DOCS_URL}/{asset}")
    return FileResponse(_ASSETS_DIR / asset, media_type=media_type)
