"""Rendering with the in-process Helm SDK (the ``helm-python-sdk`` wheel).

The wheel wraps Helm's Go SDK in a native library that is loaded on first use (about 75 MB,
once per process), so the import happens lazily, in a worker thread, the first time a chart
is rendered. Every call into it is blocking CGo and runs in a worker thread
(`asyncio.to_thread`); ctypes releases the GIL for the call, so renders really run in
parallel. The library documents loaded charts as immutable and safe to share between
threads, and each render here loads its own chart handle, so no lock is taken (the tests
render concurrently to hold that up); the renderer still bounds how many renders run at
once.

Like ``helm template``, the release name is validated first (DNS-1123, at most 53
characters) and values are checked against the chart's ``values.schema.json``. Helm's Go
code may print warnings (e.g. "cannot overwrite table with non table") to stderr.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import ModuleType
from typing import Any

from catalyst.charts.errors import ChartRenderError


def _import_sdk() -> ModuleType:
    try:
        import helm_python
    except ImportError as exc:  # pragma: no cover - the wheel is a pinned dependency
        raise ChartRenderError(f"the Helm SDK is not available: {exc}") from exc
    return helm_python


class HelmSdkBackend:
    """Renders charts in process with the Helm SDK wheel."""

    name = "helm-sdk"

    async def render_templates(
        self,
        chart: Path,
        *,
        release_name: str,
        namespace: str,
        values: dict[str, Any],
        upgrade: bool = False,
    ) -> dict[str, str]:
        return await asyncio.to_thread(
            self._render_blocking,
            chart,
            release_name=release_name,
            namespace=namespace,
            values=values,
            upgrade=upgrade,
        )

    @staticmethod
    def _render_blocking(
        chart: Path, *, release_name: str, namespace: str, values: dict[str, Any], upgrade: bool
    ) -> dict[str, str]:
        helm = _import_sdk()
        failure: str | None = None
        try:
            helm.validate_release_name(release_name)
            with helm.Chart.load(chart) as loaded:
                templates: dict[str, str] = loaded.render(
                    values,
                    name=release_name,
                    namespace=namespace,
                    is_install=not upgrade,
                    is_upgrade=upgrade,
                )
        except helm.HelmError as exc:
            failure = str(exc).strip() or type(exc).__name__
        if failure is not None:
            # Raised outside `except` so Helm's unscrubbed message is not kept as __context__.
            raise ChartRenderError(failure)
        return templates
