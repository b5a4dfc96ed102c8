"""Minimal in-memory stand-ins for the use cases, for tests of the HTTP layer alone.

They implement only what the routers call, with the same refusals as the real services
(unknown id → EnvironmentNotFound, non-admin isolation, duplicate name → NameTaken)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

from catalyst.api.dependencies import ApiServices
from catalyst.cluster import LogLine
from catalyst.service.caller import Caller
from catalyst.service.charts import ChartDefaults, ChartSummary
from catalyst.service.errors import (
    ChartNotFound,
    EnvironmentNameTaken,
    EnvironmentNotFound,
    LogStreamUnavailable,
)
from catalyst.service.freshness import UNWATCHED, Freshness
from catalyst.service.listing import ItemRenderer
from catalyst.service.logs import parse_stream
from catalyst.store.records import EnvironmentRecord

NOW = datetime(2026, 11, 25, 10, 0, 3, tzinfo=UTC)

ADMIN = Caller(token_id=1, name="admin", admin=True)
ALICE = Caller(token_id=2, name="alice", admin=False)
BOB = Caller(token_id=3, name="bob", admin=False)
TOKENS = {"admin-token": ADMIN, "alice-token": ALICE, "bob-token": BOB}


class FakeTokens:
    async def authenticate(self, token: str) -> Caller | None:
        return TOKENS.get(token)


class FakeCharts:
    async def list(self) -> list[ChartSummary]:
        return [ChartSummary("mediawiki", "1.0.0", "MediaWiki")]

    async def get(self, name: str) -> ChartDefaults:
        if name != "mediawiki":
            raise ChartNotFound(f"chart {name!r} not found")
        return ChartDefaults("mediawiki", "1.0.0", {"extensions": {"Echo": {}}})


def make_record(env_id: int, name: str, owner: int, values: dict[str, Any]) -> EnvironmentRecord:
    return EnvironmentRecord(
        id=env_id,
        name=name,
        chart_name="mediawiki",
        values=values,
        namespace=f"env-{env_id}",
        owner_token_id=owner,
        status="starting",
        status_reason="Creating",
        status_message="",
        status_since=NOW,
        status_observed_at=NOW,
        failure_kind=None,
        failed_at=None,
        expires_at=None,
        ever_running=False,
        lifecycle="creating",
        revision=1,
        applied_revision=None,
        operation="create",
        operation_error=None,
        status_memory={},
        created_at=NOW,
        updated_at=NOW,
        deleted_at=None,
        version=1,
    )


@dataclass
class FakeEnvironments:
    records: dict[int, EnvironmentRecord] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    looked_up: list[int] = field(default_factory=list)
    """Every id a request asked for, as the store would have seen it."""

    def _visible(self, env_id: int, caller: Caller) -> EnvironmentRecord:
        self.looked_up.append(env_id)
        record = self.records.get(env_id)
        if record is None or not caller.may_see(record.owner_token_id):
            raise EnvironmentNotFound(f"environment {env_id} not found")
        return record

    async def create(
        self, *, caller: Caller, name: str, chart_name: str, values: dict[str, Any]
    ) -> EnvironmentRecord:
        if chart_name != "mediawiki":
            raise ChartNotFound(f"chart {chart_name!r} not found")
        if any(r.name == name for r in self.records.values()):
            raise EnvironmentNameTaken(f"an environment named {name!r} already exists")
        env_id = len(self.records) + 1
        self.created.append(values)
        self.records[env_id] = make_record(env_id, name, caller.token_id, values)
        return self.records[env_id]

    async def list(self, *, caller: Caller) -> list[EnvironmentRecord]:
        return [r for r in self.records.values() if caller.may_see(r.owner_token_id)]

    async def list_json(self, *, caller: Caller, render: ItemRenderer) -> bytes:
        line = render.splice(UNWATCHED)
        return render.array([line(render.render(r)) for r in await self.list(caller=caller)])

    async def freshness(self) -> Freshness:
        return UNWATCHED

    async def get(self, env_id: int, *, caller: Caller) -> EnvironmentRecord:
        return self._visible(env_id, caller)

    async def rebuild(
        self,
        env_id: int,
        *,
        caller: Caller,
        name: str | None,
        chart_name: str | None,
        values: dict[str, Any],
    ) -> EnvironmentRecord:
        record = replace(self._visible(env_id, caller), values=values)
        self.records[env_id] = record
        return record

    async def delete(self, env_id: int, *, caller: Caller) -> EnvironmentRecord:
        record = replace(self._visible(env_id, caller), status="deleting")
        self.records[env_id] = record
        return record


class FakeLogs:
    def __init__(self, environments: FakeEnvironments, lines: list[str]) -> None:
        self._environments = environments
        self._lines = lines

    async def open(self, env_id: int, *, caller: Caller, stream: str) -> AsyncIterator[LogLine]:
        chart, _ = parse_stream(stream)
        record = await self._environments.get(env_id, caller=caller)
        if chart != record.chart_name:
            raise LogStreamUnavailable("stream: wrong chart")
        return self._follow()

    async def _follow(self) -> AsyncIterator[LogLine]:
        for line in self._lines:
            yield LogLine(timestamp=NOW, line=line)


def fake_services(
    environments: FakeEnvironments | None = None, log_lines: list[str] | None = None
) -> ApiServices:
    environments = environments or FakeEnvironments()
    return ApiServices(
        tokens=cast(Any, FakeTokens()),
        environments=cast(Any, environments),
        charts=cast(Any, FakeCharts()),
        logs=cast(Any, FakeLogs(environments, log_lines or [])),
        history=cast(Any, None),
        feed=cast(Any, None),
        sse_heartbeat_seconds=0.05,
    )
