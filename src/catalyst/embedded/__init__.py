"""Files for Catalyst's embedded default (SQLite + kubesim), shipped as package data.

`KUBESIM_RULES` is the kubesim rules file the embedded default starts kubesim with: the
bundled mediawiki chart's pods become Ready in about a second and its install container
runs for a few seconds printing the real install script's progress lines.
"""

from __future__ import annotations

from pathlib import Path

KUBESIM_RULES: Path = Path(__file__).with_name("kubesim-rules.yaml")

__all__ = ["KUBESIM_RULES"]
