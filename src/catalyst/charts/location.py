"""Where the bundled charts are.

The repository's ``charts/`` directory ships the bundled charts (the MediaWiki chart whose
values match Patchdemo's requests). It is found relative to this source file, which works
from a checkout and from an editable install (``pip install -e``), the way the embedded
default runs. A regular wheel does not carry ``charts/``: production points Catalyst at its
charts with the ``CATALYST_CHARTS_DIR`` setting (read by ``catalyst.config``), which may be
any directory of chart directories and packaged ``.tgz`` charts.
"""

from __future__ import annotations

from pathlib import Path

# src/catalyst/charts/location.py -> the repository root is three levels above the package.
_REPOSITORY_ROOT = Path(__file__).resolve().parents[3]


def bundled_charts_dir() -> Path:
    """The repository's ``charts/`` directory.

    Raises `FileNotFoundError` (naming ``CATALYST_CHARTS_DIR``) when Catalyst runs from an
    installation that does not carry it.
    """
    charts = _REPOSITORY_ROOT / "charts"
    if not charts.is_dir():
        raise FileNotFoundError(
            f"bundled charts not found at {charts}; set CATALYST_CHARTS_DIR to a charts directory"
        )
    return charts
