"""Chart catalogue and rendering with real Helm.

- `ChartCatalogue(charts_dir)`: ``list()`` and ``get(name)`` of the charts in a directory
  (raises `ChartNotInCatalogue`).
- `HelmRenderer`: ``await render(chart_dir, release_name=, namespace=, values=)`` gives the
  rendered Kubernetes objects, using the ``helm`` binary when it is on PATH and the
  in-process Helm SDK otherwise (raises `ChartRenderError`, secrets scrubbed).
- `bundled_charts_dir()`: the repository's ``charts/`` (production sets
  ``CATALYST_CHARTS_DIR`` instead).
"""

from __future__ import annotations

from catalyst.charts.catalogue import ChartCatalogue, ChartInfo
from catalyst.charts.errors import ChartNotInCatalogue, ChartRenderError
from catalyst.charts.location import bundled_charts_dir
from catalyst.charts.renderer import HelmRenderer, select_backend

__all__ = [
    "ChartCatalogue",
    "ChartInfo",
    "ChartNotInCatalogue",
    "ChartRenderError",
    "HelmRenderer",
    "bundled_charts_dir",
    "select_backend",
]
