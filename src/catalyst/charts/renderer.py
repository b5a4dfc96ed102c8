"""`HelmRenderer`: a chart plus values in, Kubernetes objects out, rendered by real Helm.

Backend choice (made once, when the renderer is built): the ``helm`` binary when one is on
``PATH`` (or given explicitly), else the in-process Helm SDK wheel. Both render offline,
the way ``helm template`` does.

Guarantees:
- The result is the list of objects described in `manifests` (NOTES.txt, partials and
  non-manifest files ignored; empty documents dropped; Helm's install order). Subcharts
  (folders or ``.tgz`` in the chart's ``charts/``) are rendered with it, and Helm hooks,
  ``test`` hooks included, are in the list with their ``helm.sh/hook*`` annotations: which
  of them run, and when, is the deployer's decision (`catalyst.cluster.hooks`).
- Every rendering failure (bad values, template errors, a broken chart, Helm failing or
  timing out) is a `ChartRenderError` whose message is Helm's own with secret values
  scrubbed (`secret_scrub`): safe to store as a failed status reason or return in a 4xx.
- At most `max_concurrent_renders` renders run at once (worker threads or helm processes);
  further calls wait their turn.
- `values` is never modified; the backend gets a deep copy.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from catalyst.charts.backend import RenderBackend
from catalyst.charts.errors import ChartRenderError
from catalyst.charts.helm_binary import HelmBinaryBackend
from catalyst.charts.helm_sdk import HelmSdkBackend
from catalyst.charts.manifests import objects_from_templates
from catalyst.charts.secret_scrub import scrub_secrets

logger = logging.getLogger(__name__)


def select_backend(
    *,
    helm_binary: str | None = None,
    which: Callable[[str], str | None] = shutil.which,
    timeout: float = 120.0,
) -> RenderBackend:
    """The ``helm`` binary (`helm_binary`, else ``helm`` found on PATH) or the SDK."""
    path = which(helm_binary or "helm")
    if path is not None:
        return HelmBinaryBackend(path, timeout=timeout)
    if helm_binary is not None:
        # An explicitly configured binary that is missing is a configuration error, not a
        # reason to quietly render with something else.
        raise FileNotFoundError(f"helm binary not found: {helm_binary}")
    return HelmSdkBackend()


class HelmRenderer:
    """Renders charts with real Helm (see module doc)."""

    def __init__(
        self, backend: RenderBackend | None = None, *, max_concurrent_renders: int = 4
    ) -> None:
        self.backend = backend if backend is not None else select_backend()
        self._slots = asyncio.Semaphore(max_concurrent_renders)
        logger.info("rendering charts with %s", self.backend.name)

    async def render(
        self,
        chart_dir: Path,
        *,
        release_name: str,
        namespace: str,
        values: dict[str, Any],
        upgrade: bool = False,
    ) -> list[dict[str, Any]]:
        """The Kubernetes objects of `chart_dir` rendered for this release and namespace,
        as Helm installs them or, with ``upgrade``, upgrades them (a rebuild)."""
        if not isinstance(values, dict):
            raise ChartRenderError("values must be an object", chart=chart_dir.name)
        # The failure is re-raised outside the `except` block on purpose: an exception
        # raised inside it keeps the unscrubbed one as __context__ (even with `from None`).
        unscrubbed: str | None = None
        try:
            async with self._slots:
                templates = await self.backend.render_templates(
                    chart_dir,
                    release_name=release_name,
                    namespace=namespace,
                    values=copy.deepcopy(values),
                    upgrade=upgrade,
                )
            objects = objects_from_templates(templates)
        except ChartRenderError as exc:
            unscrubbed = exc.message
        if unscrubbed is not None:
            message = scrub_secrets(unscrubbed, values)
            logger.info(
                "rendering %s for %s/%s failed (%s): %s",
                chart_dir.name,
                namespace,
                release_name,
                self.backend.name,
                message,
            )
            raise ChartRenderError(message, chart=chart_dir.name)
        return objects
