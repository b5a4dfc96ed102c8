"""Content negotiation for the Accept header (B22).

kubesim produces plain JSON, Table (``as=Table;g=meta.k8s.io;v=v1``) and
PartialObjectMetadata(List). Alternatives are tried in the client's order
(q-values are honoured, ties keep order); an alternative kubesim cannot produce
is skipped, and only when none is acceptable does the request fail with 406.
Table is only offered when the table renderer exists.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from enum import Enum

from kubesim.errors import ApiError


class Output(Enum):
    JSON = "json"
    TABLE = "table"
    METADATA = "metadata"


@dataclass(frozen=True, slots=True)
class MediaRange:
    type: str
    params: dict[str, str]
    q: float


def parse_accept(header: str) -> list[MediaRange]:
    ranges: list[MediaRange] = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        params: dict[str, str] = {}
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 1.0
        ranges.append(MediaRange(pieces[0].lower(), params, q))
    # stable sort: equal q keeps the client's order
    return sorted(ranges, key=lambda r: -r.q)


def _table_available() -> bool:
    return importlib.util.find_spec("kubesim.table") is not None


def _json_like(media_type: str) -> bool:
    return media_type in ("application/json", "application/*", "*/*")


def negotiate(header: str | None, *, allow_table: bool = True) -> Output:
    """Pick the output for an Accept header, or raise 406 NotAcceptable."""
    if not header:
        return Output.JSON
    for media in parse_accept(header):
        if not _json_like(media.type) or media.q <= 0:
            continue
        as_kind = media.params.get("as")
        if as_kind is None:
            return Output.JSON
        group = media.params.get("g", "meta.k8s.io")
        if group != "meta.k8s.io":
            continue
        if as_kind == "Table" and allow_table and _table_available():
            return Output.TABLE
        if as_kind in ("PartialObjectMetadata", "PartialObjectMetadataList"):
            return Output.METADATA
    raise ApiError(
        "NotAcceptable",
        f"only the following media types are accepted: application/json (asked: {header})",
    )
