"""The interface every Helm rendering backend implements.

A backend renders one chart offline (no cluster is contacted; ``lookup`` returns nothing)
and returns Helm's rendered templates as ``{template path: text}``. It raises
`ChartRenderError` with Helm's message when rendering fails; scrubbing secrets from that
message and turning text into objects is the caller's job (`renderer.HelmRenderer`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class RenderBackend(Protocol):
    """Renders a chart with real Helm."""

    @property
    def name(self) -> str:
        """Short name for logs: ``helm-binary`` or ``helm-sdk``."""
        ...

    async def render_templates(
        self,
        chart: Path,
        *,
        release_name: str,
        namespace: str,
        values: dict[str, Any],
        upgrade: bool = False,
    ) -> dict[str, str]:
        """Helm's rendered templates of `chart` (a chart directory or ``.tgz``), as for
        ``helm install`` or, with ``upgrade``, ``helm upgrade`` (``.Release.IsInstall`` /
        ``.Release.IsUpgrade``)."""
        ...
