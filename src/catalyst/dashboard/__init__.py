"""The web dashboard: a small app of native ES modules, HTML and CSS shipped in the package.

No build step and no third-party front-end code: ``static/`` holds the files exactly as the
browser runs them (plain JavaScript with JSDoc types). `catalyst.api.routes.dashboard`
serves them at ``/`` and ``/dashboard/<file>``; they talk to the same ``/api`` as any other
client, with the API token the user pastes (kept in the browser's session storage only).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

STATIC_DIR = Path(str(files(__name__) / "static"))
"""The dashboard's files (``index.html`` and the assets it loads)."""
