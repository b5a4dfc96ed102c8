"""``/`` and ``/dashboard/<file>``: the web dashboard's page and assets (`catalyst.dashboard`).

Guarantees: only the files shipped in the dashboard's ``static`` folder are served (a name
with a slash, a dot-file or anything else answers 404 in the error shape); nothing under
``/api``, ``/healthz``, ``/readyz``, ``/metrics`` is shadowed, since only these two paths are
routed here. Every answer carries a Content-Security-Policy that allows scripts, styles and
connections to this origin only (no inline script, no framing), so data shown by the page
cannot run as code even if it contained markup. The page needs no token: it holds no data;
the API calls it makes carry the user's token.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from catalyst.api.errors import ApiError
from catalyst.dashboard import STATIC_DIR

ASSETS_URL = "/dashboard"

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # The page is tiny and changes with the package: always revalidate.
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


def _shipped() -> dict[str, str]:
    """Name → media type of every servable file (read once: the package does not change)."""
    return {
        path.name: _MEDIA_TYPES[path.suffix]
        for path in STATIC_DIR.iterdir()
        if path.is_file() and path.suffix in _MEDIA_TYPES and not path.name.startswith(".")
    }


_FILES = _shipped()


@router.get("/")
async def dashboard_page() -> FileResponse:
    return _file("index.html")


@router.get(ASSETS_URL + "/{name}")
async def dashboard_asset(name: str) -> FileResponse:
    return _file(name)


def _file(name: str) -> FileResponse:
    media_type = _FILES.get(name)
    if media_type is None:
        raise ApiError(404, f"no route {ASSETS_URL}/{name}")
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=SECURITY_HEADERS)
