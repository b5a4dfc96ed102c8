"""LogService: stream limits per token and overall, bounded names, ending with the environment."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from catalyst.cluster import LogLine, LogStreamError
from catalyst.service.caller import Caller
from catalyst.service.errors import (
    EnvironmentBeingDeleted,
    EnvironmentNotFound,
    LogStreamUnavailable,
    TooManyLogStreams,
)
from catalyst.service.logs import LogService, parse_stream
from catalyst.store.records import EnvironmentRecord
from tests.support.api_fakes import NOW, make_record

ALICE = Caller(token_id=2, name="alice", admin=False)
BOB = Caller(token_id=3, name="bob", admin=False)
WAIT = 10.0
SECRET = "hunter2-s3cr3t"


@dataclass
class Environments:
    records: dict[int, EnvironmentRecord] = field(default_factory=dict)

    def add(self, env_id: int, owner: Caller, **changes: object) -> EnvironmentRecord:
        record = make_record(env_id, f"wiki-{env_id}", owner.token_id, {"db": {"password": SECRET}})
        record = dataclasses.replace(record, **changes)  # type: ignore[arg-type]
        self.records[env_id] = record
        return record

    async def get(self, env_id: int, *, caller: Caller) -> EnvironmentRecord:
        record = self.records.get(env_id)
        if record is None or not caller.may_see(record.owner_token_id):
            raise EnvironmentNotFound(f"environment {env_id} not found")
        return record


@dataclass
class Source:
    """Follows nothing: every stream waits until `finish` (or `fail`) is set."""

    finish: asyncio.Event = field(default_factory=asyncio.Event)
    fail: Exception | None = None
    checks: list[Callable[[], Awaitable[bool]]] = field(default_factory=list)
    following: asyncio.Event = field(default_factory=asyncio.Event)

    async def follow(
        self,
        namespace: str,
        environment_id: int,
        container: str,
        *,
        wait_timeout: float,
        environment_exists: Callable[[], Awaitable[bool]] | None = None,
    ) -> AsyncIterator[LogLine]:
        assert environment_exists is not None
        self.checks.append(environment_exists)
        self.following.set()
        await self.finish.wait()
        if self.fail is not None:
            raise self.fail
        yield LogLine(NOW, "last line")


def service(
    environments: Environments, source: Source, *, total: int = 3, per_token: int = 2
) -> LogService:
    return LogService(
        environments,
        source,
        wait_timeout=60,
        max_streams=total,
        max_streams_per_token=per_token,
    )


async def drain(stream: AsyncIterator[LogLine]) -> list[str]:
    return [line.line async for line in stream]


def test_container_and_chart_names_are_bounded_like_kubernetes_names() -> None:
    assert parse_stream(f"mediawiki/{'c' * 63}") == ("mediawiki", "c" * 63)
    for stream in (f"mediawiki/{'c' * 64}", f"{'m' * 64}/install", "mediawiki/install\n"):
        with pytest.raises(LogStreamUnavailable) as refused:
            parse_stream(stream)
        assert refused.value.status_code == 400
        assert len(refused.value.detail) < 100  # the refused value is not echoed back


async def test_streams_are_capped_per_token_and_overall() -> None:
    environments, source = Environments(), Source()
    environments.add(1, ALICE)
    environments.add(2, BOB)
    logs = service(environments, source, total=3, per_token=2)
    alice = [await logs.open(1, caller=ALICE, stream="mediawiki/install") for _ in range(2)]

    with pytest.raises(TooManyLogStreams) as per_token:
        await logs.open(1, caller=ALICE, stream="mediawiki/install")
    assert per_token.value.status_code == 429
    assert "2 open log streams" in per_token.value.detail

    bob = await logs.open(2, caller=BOB, stream="mediawiki/install")
    with pytest.raises(TooManyLogStreams) as overall:
        await logs.open(2, caller=BOB, stream="mediawiki/install")
    assert "3 log streams" in overall.value.detail
    assert logs.open_streams == 3

    await alice[0].aclose()  # closed before a line was read: the slot is free again
    bob_again = await logs.open(2, caller=BOB, stream="mediawiki/install")
    source.finish.set()
    for stream in (alice[1], bob, bob_again):
        assert await asyncio.wait_for(drain(stream), WAIT) == ["last line"]
    assert logs.open_streams == 0  # each ended with its container


async def test_refused_requests_take_no_slot() -> None:
    environments, source = Environments(), Source()
    environments.add(1, ALICE)
    environments.add(2, ALICE, lifecycle="deleting", status="deleting")
    logs = service(environments, source, total=1, per_token=1)
    with pytest.raises(EnvironmentNotFound):
        await logs.open(1, caller=BOB, stream="mediawiki/install")
    with pytest.raises(LogStreamUnavailable):
        await logs.open(1, caller=ALICE, stream="other-chart/install")
    with pytest.raises(EnvironmentBeingDeleted):
        await logs.open(2, caller=ALICE, stream="mediawiki/install")
    assert logs.open_streams == 0
    stream = await logs.open(1, caller=ALICE, stream="mediawiki/install")
    await stream.aclose()
    await stream.aclose()  # closing twice frees the slot once
    assert logs.open_streams == 0


async def test_the_follow_is_told_when_the_environment_is_deleted() -> None:
    environments, source = Environments(), Source()
    environments.add(1, ALICE)
    logs = service(environments, source)
    stream = await logs.open(1, caller=ALICE, stream="mediawiki/install")
    reading = asyncio.create_task(drain(stream))
    await asyncio.wait_for(source.following.wait(), WAIT)
    exists = source.checks[0]
    assert await exists()
    environments.add(1, ALICE, lifecycle="deleting", status="deleting")
    assert not await exists()
    del environments.records[1]
    assert not await exists()
    source.finish.set()
    await asyncio.wait_for(reading, WAIT)


async def test_a_failed_stream_is_logged_without_the_environments_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    environments = Environments()
    environments.add(1, ALICE)
    source = Source(fail=LogStreamError(f"cannot follow container install of pod {SECRET}-x"))
    logs = service(environments, source)
    stream = await logs.open(1, caller=ALICE, stream="mediawiki/install")
    source.finish.set()
    with caplog.at_level(logging.INFO, logger="catalyst"):
        assert await asyncio.wait_for(drain(stream), WAIT) == []
    assert "cannot follow container install of pod ***-x" in caplog.text
    assert SECRET not in caplog.text
    assert logs.open_streams == 0
