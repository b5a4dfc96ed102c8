"""`ChartCatalogue`: the charts Catalyst offers, read from one directory.

A chart is either a subdirectory holding a ``Chart.yaml`` or a packaged chart (``*.tgz``,
as ``helm package`` makes it, e.g. ``mychart-1.2.0.tgz``) directly in the directory. Its
catalogue name and version are the ``name`` and ``version`` in its ``Chart.yaml``, not the
file name. Subcharts in a chart's ``charts/`` folder (folders or ``.tgz``) are Helm's to
render; the catalogue only checks them.

Guarantees and awkward cases:
- Reads are cached per chart and redone only when ``Chart.yaml`` / ``values.yaml`` (or the
  archive) change size or modification time, so a chart edited in place is picked up and
  an unchanged catalogue costs a directory scan plus a few ``stat`` calls. These are small
  blocking file reads: callers on the event loop run `list`/`get` in a worker thread, and a
  lock makes the catalogue safe to use from several threads at once.
- A chart that cannot be read (bad YAML, no name or version) is left out with a warning:
  one broken chart must not hide the others. So is a packaged chart, or a chart folder
  with a packaged subchart, whose archive is unsafe or too large (`catalyst.charts.archive`:
  no path outside the chart folder, no links, bounded sizes); archives are never
  extracted to disk. Two charts with the same name: the first in
  file-name order wins, with a warning.
- `list` and `get` return deep copies of the default values: callers may change them.
- A missing charts directory is an empty catalogue (logged), not a crash at start-up.
"""

from __future__ import annotations

import copy
import logging
import tarfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from catalyst.charts.archive import ArchiveSummary, UnsafeArchive, inspect_archive
from catalyst.charts.errors import ChartNotInCatalogue

logger = logging.getLogger(__name__)

_Signature = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class ChartInfo:
    """One chart of the catalogue."""

    name: str
    version: str
    description: str
    app_version: str | None
    path: Path
    """The chart directory or ``.tgz`` archive: what `HelmRenderer.render` takes."""
    default_values: dict[str, Any] = field(default_factory=dict)


class ChartReadError(Exception):
    """A chart's files are missing or malformed (internal: such charts are skipped)."""


def _signature(paths: Sequence[Path]) -> _Signature:
    parts = []
    for path in paths:
        try:
            stat = path.stat()
        except FileNotFoundError:
            parts.append((-1, -1))
        else:
            parts.append((stat.st_mtime_ns, stat.st_size))
    return tuple(parts)


def _parse_yaml_mapping(text: str | bytes, what: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ChartReadError(f"{what}: invalid YAML: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ChartReadError(f"{what}: not a mapping")
    return loaded


def _chart_info(path: Path, chart_yaml: str | bytes, values_yaml: str | bytes | None) -> ChartInfo:
    metadata = _parse_yaml_mapping(chart_yaml, f"{path}: Chart.yaml")
    name, version = metadata.get("name"), metadata.get("version")
    if not name or not version:
        raise ChartReadError(f"{path}: Chart.yaml needs a name and a version")
    defaults = (
        _parse_yaml_mapping(values_yaml, f"{path}: values.yaml") if values_yaml is not None else {}
    )
    app_version = metadata.get("appVersion")
    return ChartInfo(
        name=str(name),
        version=str(version),
        description=str(metadata.get("description") or "").strip(),
        app_version=None if app_version is None else str(app_version),
        path=path,
        default_values=defaults,
    )


def _subchart_archives(path: Path) -> list[Path]:
    """The packaged subcharts in a chart folder's ``charts/`` (Helm renders them)."""
    subcharts = path / "charts"
    return sorted(subcharts.glob("*.tgz")) if subcharts.is_dir() else []


def _read_directory_chart(path: Path) -> ChartInfo:
    for archive in _subchart_archives(path):
        _check_archive(archive)
    values_path = path / "values.yaml"
    values = values_path.read_text(encoding="utf-8") if values_path.is_file() else None
    return _chart_info(path, (path / "Chart.yaml").read_text(encoding="utf-8"), values)


def _check_archive(path: Path) -> ArchiveSummary:
    try:
        return inspect_archive(path)
    except UnsafeArchive as exc:
        raise ChartReadError(f"{path}: refused chart archive: {exc}") from None
    except (OSError, tarfile.TarError) as exc:
        raise ChartReadError(f"{path}: unreadable chart archive: {exc}") from None


def _read_packaged_chart(path: Path) -> ChartInfo:
    """A ``helm package`` archive holds ``<name>/Chart.yaml`` and ``<name>/values.yaml``;
    it is checked whole first (`catalyst.charts.archive`) and never extracted."""
    summary = _check_archive(path)
    if summary.chart_yaml is None:
        raise ChartReadError(f"{path}: no Chart.yaml in the archive")
    return _chart_info(path, summary.chart_yaml, summary.values_yaml)


def _chart_candidates(charts_dir: Path) -> list[tuple[Path, list[Path]]]:
    """Chart directories and archives in `charts_dir`, with the files that define each."""
    try:
        entries = sorted(charts_dir.iterdir())
    except FileNotFoundError:
        logger.warning("charts directory %s does not exist", charts_dir)
        return []
    candidates = []
    for entry in entries:
        if entry.is_dir() and (entry / "Chart.yaml").is_file():
            watched = [entry / "Chart.yaml", entry / "values.yaml", *_subchart_archives(entry)]
            candidates.append((entry, watched))
        elif entry.is_file() and entry.name.endswith(".tgz"):
            candidates.append((entry, [entry]))
    return candidates


class ChartCatalogue:
    """The charts in `charts_dir` (see module doc)."""

    def __init__(self, charts_dir: Path) -> None:
        self.charts_dir = charts_dir
        self._cache: dict[Path, tuple[_Signature, ChartInfo | None]] = {}
        self._lock = threading.Lock()

    def list(self) -> list[ChartInfo]:
        """Every readable chart, sorted by name (each with a private copy of its defaults)."""
        charts = sorted(self._scan().values(), key=lambda info: info.name)
        return [replace(info, default_values=copy.deepcopy(info.default_values)) for info in charts]

    def get(self, name: str) -> ChartInfo:
        """The chart called `name`, with a private copy of its default values."""
        info = self._scan().get(name)
        if info is None:
            raise ChartNotInCatalogue(name)
        return replace(info, default_values=copy.deepcopy(info.default_values))

    def _read(self, path: Path, watched: Sequence[Path]) -> ChartInfo | None:
        signature = _signature(watched)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == signature:
            return cached[1]
        info: ChartInfo | None
        try:
            info = _read_packaged_chart(path) if path.is_file() else _read_directory_chart(path)
        except (ChartReadError, OSError, UnicodeDecodeError) as exc:
            logger.warning("skipping chart %s: %s", path, exc)
            info = None
        self._cache[path] = (signature, info)
        return info

    def _scan(self) -> dict[str, ChartInfo]:
        with self._lock:
            return self._scan_locked()

    def _scan_locked(self) -> dict[str, ChartInfo]:
        charts: dict[str, ChartInfo] = {}
        seen: set[Path] = set()
        for path, watched in _chart_candidates(self.charts_dir):
            seen.add(path)
            info = self._read(path, watched)
            if info is None:
                continue
            if info.name in charts:
                logger.warning(
                    "chart %s at %s ignored: already provided by %s",
                    info.name,
                    path,
                    charts[info.name].path,
                )
                continue
            charts[info.name] = info
        for gone in set(self._cache) - seen:
            del self._cache[gone]
        return charts
