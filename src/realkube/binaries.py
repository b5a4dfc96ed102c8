"""Where the control-plane binaries are: the folder `make kube` builds into.

:func:`find_binaries` returns a :class:`Binaries` whose every program exists, or raises
:class:`BinariesMissing` saying how to build them. Lookup order:

1. ``REALKUBE_BIN_DIR`` (a folder holding the six programs and ``kwok-data/``), for a build kept
   elsewhere;
2. the folder ``scripts/build-kube --print-dir`` names for this checkout (the cache keyed by
   ``tools/kube/go.mod`` and ``go.sum``), found from this package's location in the source
   tree (the editable install every ``make`` target uses).

It never builds: building takes minutes and belongs to ``make kube``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

PROGRAMS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kubectl",
)
REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-kube"


class BinariesMissing(RuntimeError):
    """The control plane has not been built (run ``make kube``)."""


@dataclass(frozen=True, slots=True)
class Binaries:
    directory: Path

    def program(self, name: str) -> Path:
        return self.directory / name

    @property
    def kubectl(self) -> Path:
        return self.program("kubectl")

    @property
    def kwok_data(self) -> Path:
        """kwok's own manifests copied from its module: the Logs CRD, node and volume stages."""
        return self.directory / "kwok-data"


def build_dir() -> Path:
    """The cache folder `make kube` builds this checkout's binaries into."""
    if not BUILD_SCRIPT.exists():
        raise BinariesMissing(
            f"{BUILD_SCRIPT} not found: set REALKUBE_BIN_DIR to a folder built by `make kube`"
        )
    result = subprocess.run(
        [str(BUILD_SCRIPT), "--print-dir"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BinariesMissing(f"scripts/build-kube --print-dir failed: {result.stderr.strip()}")
    return Path(result.stdout.strip().splitlines()[-1])


def find_binaries() -> Binaries:
    override = os.environ.get("REALKUBE_BIN_DIR")
    directory = Path(override) if override else build_dir()
    missing = [p for p in PROGRAMS if not (directory / p).is_file()]
    if not (directory / "kwok-data" / ".complete").exists():
        missing.append("kwok-data/ (kwok manifests)")
    if missing:
        raise BinariesMissing(
            f"the Kubernetes control plane is not built in {directory} "
            f"(missing: {', '.join(missing)}); run `make kube` (several minutes the first time)"
        )
    return Binaries(directory)
