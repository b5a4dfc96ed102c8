"""Packaging test charts as ``helm package`` does (``NAME-VERSION.tgz`` holding ``NAME/``),
so tests keep only folders in the repository and build archives where they need them."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import yaml

# The test charts (folders only; archives are built where a test needs them).
CHARTS = Path(__file__).resolve().parents[1] / "fixtures" / "charts"


def package_chart(source: Path, destination: Path) -> Path:
    """Write ``destination/NAME-VERSION.tgz`` from the chart folder `source`."""
    metadata = yaml.safe_load((source / "Chart.yaml").read_text())
    name, version = metadata["name"], metadata["version"]
    destination.mkdir(parents=True, exist_ok=True)
    archive = destination / f"{name}-{version}.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname=name)
    return archive


def hooked_chart(destination: Path) -> Path:
    """A copy of the ``hooked`` chart in `destination`, with its ``cache`` subchart as a
    folder and the ``metrics`` subchart packaged into its ``charts/`` folder."""
    chart = destination / "hooked"
    shutil.copytree(CHARTS / "hooked", chart)
    package_chart(CHARTS / "hooked-packed-sub", chart / "charts")
    return chart
