"""Errors of the chart catalogue and of rendering.

Both carry messages meant for clients: `ChartNotInCatalogue` becomes a 404 (or a 422 when a
request names an unknown chart), `ChartRenderError` a 4xx answer or the reason of a failed
environment. A render error's message is Helm's own, with every secret value from the
request's values replaced by ``***`` before the exception is built (see `secret_scrub`).
"""

from __future__ import annotations


class ChartNotInCatalogue(LookupError):
    """No chart of that name in the catalogue."""

    def __init__(self, name: str) -> None:
        super().__init__(f'chart "{name}" not found')
        self.name = name


class ChartRenderError(Exception):
    """Helm could not render the chart with these values (bad values, a template error,
    an invalid release name, a broken chart, or Helm itself failing)."""

    def __init__(self, message: str, *, chart: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.chart = chart
