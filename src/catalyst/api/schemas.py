"""Request and response bodies of the HTTP API (api-contract.md), in camelCase.

Request guarantees: ``name`` is a DNS-1123 label of at most 53 characters (Helm's
release-name limit), matched in full (a trailing newline is not a label); ``values`` must be
a JSON object, except that PHP's empty array ``[]`` is accepted as ``{}``; everything inside
``values`` is passed through untouched (strings like ``"true"`` stay strings) as long as it
can be stored exactly (`catalyst.api.chart_values`: 64-bit integers, finite numbers, valid
Unicode, at most 32 levels deep), otherwise 422 naming the member. Unknown top-level keys
are ignored.

Responses never carry secrets: `EnvironmentOut.from_record` redacts ``values``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, field_validator
from pydantic_core import PydanticCustomError

from catalyst.api.chart_values import unsupported_member
from catalyst.timestamps import rfc3339

MAX_NAME_LENGTH = 53
DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_DNS1123_LABEL = re.compile(DNS1123_LABEL)


Timestamp = Annotated[datetime, PlainSerializer(rfc3339, return_type=str)]


def _check_name(value: str) -> str:
    # fullmatch: with match, "$" also matches before a trailing newline.
    if len(value) > MAX_NAME_LENGTH or not _DNS1123_LABEL.fullmatch(value):
        raise PydanticCustomError(
            "dns1123_label",
            "must be a DNS-1123 label of at most 53 characters "
            "(lowercase letters, digits and '-', starting and ending with a letter or digit)",
        )
    return value


def _check_values(value: Any) -> Any:
    # PHP's json_encode turns an empty array into [] whether it meant a list or a map.
    if value == []:
        return {}
    if not isinstance(value, dict):
        raise PydanticCustomError("values_object", "must be an object")
    unsupported = unsupported_member(value)
    if unsupported is not None:
        raise PydanticCustomError(
            "values_unsupported",
            "{reason}",
            {"reason": unsupported.reason, "path": unsupported.path},
        )
    return value


_VALUES_DESCRIPTION = (
    "Chart values handed to Helm ([] means {}). Integers must fit in 64 bits, numbers must "
    "be finite, text must be valid Unicode, and nesting is limited to 32 levels."
)


class EnvironmentCreate(BaseModel):
    """Body of ``POST /api/environments``."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "name": "wiki-0123456789",
                    "chartName": "mediawiki",
                    "values": {"mediawikiCore": {"branch": "master"}},
                }
            ]
        },
    )

    name: str = Field(
        description="DNS-1123 label, at most 53 characters.",
        # Documented for generated clients and schema-driven tests; enforced by _check_name.
        json_schema_extra={"pattern": DNS1123_LABEL, "minLength": 1, "maxLength": 53},
    )
    chartName: str = Field(min_length=1, description="A chart from GET /api/charts.")
    values: dict[str, Any] = Field(default_factory=dict, description=_VALUES_DESCRIPTION)

    _name = field_validator("name")(_check_name)
    _values = field_validator("values", mode="before")(_check_values)


class EnvironmentRefresh(BaseModel):
    """Body of ``POST /api/environments/{id}/refresh``: name and chartName may be omitted,
    but when present must match the environment."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, description="The environment's name, if sent.")
    chartName: str | None = Field(default=None, description="The environment's chart, if sent.")
    values: dict[str, Any] = Field(default_factory=dict, description=_VALUES_DESCRIPTION)

    _values = field_validator("values", mode="before")(_check_values)


class EnvironmentKeep(BaseModel):
    """Body of ``POST /api/environments/{id}/keep`` (may be omitted)."""

    model_config = ConfigDict(extra="ignore")

    until: AwareDatetime | None = Field(
        default=None,
        description="A later expiry (RFC 3339 with a zone); without it the expiry is removed.",
    )


class StatusChangeOut(BaseModel):
    """One change of an environment's status, as the history lists it."""

    id: int = Field(description="The change's position; pass it as `after` for the next page.")
    at: Timestamp
    from_: str | None = Field(alias="from")
    to: str
    reason: str
    message: str
    failureKind: str | None
    expiresAt: Timestamp | None
    source: str = Field(description="`api`, `deployer`, `watcher` or `reaper`.")


class HistoryOut(BaseModel):
    """A page of an environment's history, oldest first."""

    items: list[StatusChangeOut]
    next: int | None = Field(
        description="`after` for the next page; null when no more changes exist now."
    )


class ResourceOut(BaseModel):
    """One object of an environment with its own status (``latestStatus`` only)."""

    apiVersion: str
    kind: str
    name: str
    status: str
    reason: str = ""
    message: str = ""


class EnvironmentOut(BaseModel):
    """The environment object every environment endpoint answers with."""

    id: int
    name: str
    chartName: str
    status: str
    statusReason: str
    statusMessage: str
    statusObservedAt: Timestamp | None
    stale: bool
    failureKind: str | None
    expiresAt: Timestamp | None
    createdAt: Timestamp
    updatedAt: Timestamp
    values: dict[str, Any]
    resources: list[ResourceOut] | None = Field(
        default=None, description="Only with latestStatus: each object's own status."
    )


class ErrorBody(BaseModel):
    """The error shape of every 4xx/5xx answer (api-contract.md)."""

    model_config = ConfigDict(extra="forbid")

    statusCode: int = Field(description="The HTTP status code, repeated.", examples=[422])
    statusText: str = Field(
        description="The status code's reason phrase.", examples=["Unprocessable Entity"]
    )
    details: list[str] = Field(
        description="Readable reasons, often as `<field>: <reason>`.",
        examples=[["values: must be an object"]],
    )


class ChartSummary(BaseModel):
    """One entry of ``GET /api/charts``."""

    name: str
    version: str
    description: str


class ChartDetail(BaseModel):
    """``GET /api/charts/{name}``: the chart's default values."""

    name: str
    version: str
    defaultValues: dict[str, Any]
