"""Chart lookup for the use cases: the catalogue's charts and their default values.

The catalogue reads chart files from disk, which blocks, so every call runs in a worker
thread. An unknown chart raises `catalyst.service.errors.ChartNotFound`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalyst.charts import ChartCatalogue, ChartInfo, ChartNotInCatalogue
from catalyst.service.errors import ChartNotFound


@dataclass(frozen=True, slots=True)
class ChartSummary:
    name: str
    version: str
    description: str


@dataclass(frozen=True, slots=True)
class ChartDefaults:
    name: str
    version: str
    default_values: dict[str, Any]


class ChartService:
    """Read-only view of the chart catalogue."""

    def __init__(self, catalogue: ChartCatalogue) -> None:
        self._catalogue = catalogue

    async def list(self) -> list[ChartSummary]:
        charts = await asyncio.to_thread(self._catalogue.list)
        return [ChartSummary(c.name, c.version, c.description) for c in charts]

    async def get(self, name: str) -> ChartDefaults:
        chart = await self._info(name)
        return ChartDefaults(chart.name, chart.version, chart.default_values)

    async def path(self, name: str) -> Path:
        """The chart's location on disk (what Helm renders)."""
        return (await self._info(name)).path

    async def _info(self, name: str) -> ChartInfo:
        try:
            return await asyncio.to_thread(self._catalogue.get, name)
        except ChartNotInCatalogue:
            raise ChartNotFound(f"chart {name!r} not found") from None
