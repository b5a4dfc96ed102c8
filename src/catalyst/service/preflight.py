"""`RenderPreflight`: answer 422, while the request is still open, to a create or rebuild
whose render holds cluster-scoped objects.

Why in the request path (and not only in the background operation): a refusal the client
sees at once costs nothing to undo. Nothing is stored: no environment that fails, waits three
days for the reaper and holds its name meanwhile; and a rebuild with such values leaves a
running environment running, where a failure found in the background would mark it failed
(with no expiry, as every rebuild failure). The render is cheap (tens of milliseconds with
the Helm SDK; the same bounded renderer as the operations), and the scope of each kind comes
from discovery that the cluster client caches per group-version, so a warm replica asks the
cluster nothing.

Guarantees:

- The chart is rendered with the request's values exactly as the operation will render it
  (same renderer, release name = environment name). The namespace is the environment's own
  for a rebuild; a create has no id yet, so it renders into ``env-0``: whether an object is
  cluster-scoped does not depend on the namespace name.
- `check` raises `ClusterScopedRender` naming every object the deployer would refuse (one
  ``details`` entry each), with secret values of the request scrubbed like Helm's errors.
- It never refuses what it cannot judge: a render error, an unknown chart, discovery that
  fails or takes longer than ``discovery_timeout`` all pass here, and the operation reports
  them (or applies nothing) as before. The deployer's own check, just before applying, is
  the guarantee; this is the early answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from catalyst.charts import ChartRenderError, HelmRenderer
from catalyst.charts.secret_scrub import scrub_secrets
from catalyst.cluster import ClusterError, Deployer
from catalyst.service.charts import ChartService
from catalyst.service.errors import ChartNotFound, ClusterScopedRender

logger = logging.getLogger(__name__)

CREATE_NAMESPACE = "env-0"
"""Stand-in namespace for the render of a create (the environment's id is not known yet)."""


class RenderPreflight:
    """Renders a request's values and refuses cluster-scoped objects (see module doc)."""

    def __init__(
        self,
        *,
        charts: ChartService,
        renderer: HelmRenderer,
        deployer: Deployer,
        discovery_timeout: float = 10.0,
    ) -> None:
        self._charts = charts
        self._renderer = renderer
        self._deployer = deployer
        self._discovery_timeout = discovery_timeout

    async def check(
        self,
        *,
        chart_name: str,
        release_name: str,
        namespace: str,
        values: dict[str, Any],
        upgrade: bool = False,
    ) -> None:
        """Raise `ClusterScopedRender` when the render (as an upgrade for a rebuild) has
        objects the deployer would refuse."""
        try:
            chart_dir = await self._charts.path(chart_name)
            objects = await self._renderer.render(
                chart_dir,
                release_name=release_name,
                namespace=namespace,
                values=values,
                upgrade=upgrade,
            )
        except (ChartNotFound, ChartRenderError):
            return  # the operation reports it, as it always did
        try:
            async with asyncio.timeout(self._discovery_timeout):
                refused = await self._deployer.cluster_scoped_refusals(objects)
        except (ClusterError, TimeoutError) as exc:
            logger.info(
                "%s: cluster scope not checked before storing (%s); the deployer checks it",
                release_name,
                exc or "timeout",
            )
            return
        if not refused:
            return
        details = [
            scrub_secrets(
                f"values: the chart renders cluster-scoped {ref.kind} {ref.name!r} "
                f"({ref.api_version}); an environment may only create objects in its own "
                "namespace",
                values,
            )
            for ref in refused
        ]
        raise ClusterScopedRender(
            f"values: the chart renders {len(refused)} cluster-scoped object(s)", details=details
        )
