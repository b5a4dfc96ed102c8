"""Packaged charts (``.tgz``, as ``helm package`` makes them), read safely.

Nothing is ever extracted to disk: the catalogue reads ``Chart.yaml`` and ``values.yaml``
from the archive in memory, and Helm loads the archive itself when it renders. Before
either happens, `inspect_archive` walks the archive's headers once and refuses it
(`UnsafeArchive`) when:

- a member's path is absolute, climbs out with ``..``, or is not under the one top-level
  folder every member shares (the chart's own folder, e.g. ``mychart/``);
- a member is anything but a regular file or a folder (symbolic and hard links, devices,
  FIFOs);
- it has more than `MAX_MEMBERS` members, one file is larger than `MAX_FILE_BYTES`, or
  all files together are larger than `MAX_CHART_BYTES` (Helm's own limits for a loaded
  chart), or the archive file itself is larger than `MAX_CHART_BYTES`.

Sizes are checked from each member's header before its content is decompressed, so an
archive that would expand to gigabytes (a "gzip bomb") costs at most about
`MAX_CHART_BYTES` of decompression before it is refused. The chart's files are read into
memory only after the whole archive passed.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_CHART_BYTES = 100 * 1024 * 1024
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_MEMBERS = 10_000


class UnsafeArchive(Exception):
    """The archive breaks one of the rules in the module doc (the message says which)."""


@dataclass(frozen=True, slots=True)
class ArchiveSummary:
    """What a safe archive holds at its top: the chart folder and two of its files."""

    top: str
    chart_yaml: bytes | None
    values_yaml: bytes | None


def _member_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise UnsafeArchive(f"member {name!r} points outside the chart folder")
    return path


def inspect_archive(path: Path) -> ArchiveSummary:
    """Check `path` against the module doc's rules and read its top-level ``Chart.yaml``
    and ``values.yaml``. Raises `UnsafeArchive`, or `OSError` / `tarfile.TarError` when it
    cannot be read as a gzipped tar file at all."""
    if path.stat().st_size > MAX_CHART_BYTES:
        raise UnsafeArchive(f"archive larger than {MAX_CHART_BYTES} bytes")
    top: str | None = None
    total = 0
    wanted: dict[str, tarfile.TarInfo] = {}
    with tarfile.open(path, "r:gz") as archive:
        for count, member in enumerate(archive, start=1):
            if count > MAX_MEMBERS:
                raise UnsafeArchive(f"more than {MAX_MEMBERS} members")
            member_path = _member_path(member.name)
            if top is None:
                top = member_path.parts[0]
            elif member_path.parts[0] != top:
                raise UnsafeArchive(f"member {member.name!r} is not under {top}/")
            if not (member.isfile() or member.isdir()):
                raise UnsafeArchive(f"member {member.name!r} is not a regular file or folder")
            if member.size > MAX_FILE_BYTES:
                raise UnsafeArchive(f"member {member.name!r} is larger than {MAX_FILE_BYTES} bytes")
            total += member.size
            if total > MAX_CHART_BYTES:
                raise UnsafeArchive(f"files larger than {MAX_CHART_BYTES} bytes in all")
            if member.isfile() and len(member_path.parts) == 2:
                wanted[member_path.parts[1]] = member
        if top is None:
            raise UnsafeArchive("empty archive")

        def read(name: str) -> bytes | None:
            member = wanted.get(name)
            extracted = archive.extractfile(member) if member is not None else None
            return extracted.read(MAX_FILE_BYTES) if extracted is not None else None

        return ArchiveSummary(top, read("Chart.yaml"), read("values.yaml"))
