"""Log streams: following one container of an environment (``stream=<chart>/<container>``).

`LogService.open` does every check that can fail up front — ``stream`` is
``<chart>/<container>`` with each part a Kubernetes name of at most 63 characters, the
environment exists, is visible to the caller and is not being deleted, ``stream`` names
the environment's own chart, and a stream slot is free — and only then returns the (lazy)
`LogStream`, so the API can still answer those failures in the error shape. Waiting for
the pod and container (at most ``wait_timeout``), following, and ending when the container
terminates or the environment's namespace is deleted are the cluster's `LogFollower`'s
job. A failure after streaming started (the wait timed out, the cluster went away) ends
the stream; it is logged with the environment id and the environment's secret values
scrubbed.

Limits (`LogStreamLimits`): a stream waiting for a container that never appears holds
cluster connections until its wait timeout, so open streams are counted per API token
and per replica. Beyond either limit `open` raises `TooManyLogStreams` (HTTP 429) at once;
nothing queues. A slot is taken by `open` and given back exactly once, when the stream
ends, fails or is closed (`LogStream.aclose`), whichever comes first: the HTTP layer closes
every stream it opened when its response ends, even one it never read from.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from catalyst.cluster import ClusterError, LogLine, LogSourceDeleted, LogStreamError
from catalyst.domain.model import Lifecycle
from catalyst.service.caller import Caller
from catalyst.service.errors import (
    EnvironmentBeingDeleted,
    EnvironmentNotFound,
    LogStreamUnavailable,
    TooManyLogStreams,
)
from catalyst.service.redaction import scrub_message
from catalyst.store.records import EnvironmentRecord

logger = logging.getLogger(__name__)

_CONTAINER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_NAME_LENGTH = 63
"""Container names are DNS-1123 labels; chart names end up in labels too."""


class EnvironmentLookup(Protocol):
    """Finds an environment for a caller (the `EnvironmentService`); raises
    `catalyst.service.errors.EnvironmentNotFound` for one the caller may not see."""

    async def get(self, env_id: int, *, caller: Caller) -> EnvironmentRecord: ...


class ContainerLogSource(Protocol):
    """Follows one container's log (the cluster's `LogFollower`)."""

    def follow(
        self,
        namespace: str,
        environment_id: int,
        container: str,
        *,
        wait_timeout: float,
        environment_exists: Callable[[], Awaitable[bool]] | None = None,
    ) -> AsyncIterator[LogLine]: ...


def parse_stream(stream: str) -> tuple[str, str]:
    """``"<chart>/<container>"`` → (chart, container); `LogStreamUnavailable` otherwise."""
    chart, sep, container = stream.partition("/")
    if (
        not sep
        or not chart
        or len(chart) > MAX_NAME_LENGTH
        or len(container) > MAX_NAME_LENGTH
        or not _CONTAINER_NAME.fullmatch(container)
    ):
        raise LogStreamUnavailable(
            "stream: must be <chart>/<container>, e.g. mediawiki/install-mediawiki "
            f"(each at most {MAX_NAME_LENGTH} characters)"
        )
    return chart, container


class LogStreamLimits:
    """Counts open log streams; refuses one beyond ``per_token`` or ``total``.

    Synchronous on purpose: checking and taking a slot cannot interleave with another
    request on the event loop, so the limits are exact.
    """

    def __init__(self, *, total: int, per_token: int) -> None:
        if total < 1 or per_token < 1:
            raise ValueError("log stream limits must be at least 1")
        self.total = total
        self.per_token = per_token
        self._open: Counter[int] = Counter()

    @property
    def open_streams(self) -> int:
        return self._open.total()

    def open_for(self, token_id: int) -> int:
        return self._open[token_id]

    def acquire(self, caller: Caller) -> Callable[[], None]:
        """Take a slot for ``caller``; returns its release (idempotent)."""
        if self._open[caller.token_id] >= self.per_token:
            raise TooManyLogStreams(
                f"logs: this token already has {self.per_token} open log streams, the most "
                "one token may have; close one before opening another"
            )
        if self.open_streams >= self.total:
            raise TooManyLogStreams(
                f"logs: this replica is serving {self.total} log streams, the most it "
                "serves at once; retry later"
            )
        self._open[caller.token_id] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._open[caller.token_id] -= 1
                if self._open[caller.token_id] <= 0:
                    del self._open[caller.token_id]

        return release


class LogStream:
    """The lines of one open stream. Holds its slot until it ends, fails or is closed."""

    def __init__(self, lines: AsyncIterator[LogLine], release: Callable[[], None]) -> None:
        self._lines = lines
        self._release = release

    def __aiter__(self) -> LogStream:
        return self

    async def __anext__(self) -> LogLine:
        try:
            return await anext(self._lines)
        except BaseException:  # the end, a failure or a cancellation: the stream is over
            self._release()
            raise

    async def aclose(self) -> None:
        """Stop following and give the slot back. Safe to call more than once."""
        try:
            aclose = getattr(self._lines, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            self._release()


class LogService:
    """Opens log streams of environments' containers, within the stream limits."""

    def __init__(
        self,
        environments: EnvironmentLookup,
        source: ContainerLogSource,
        *,
        wait_timeout: float,
        max_streams: int,
        max_streams_per_token: int,
    ) -> None:
        self._environments = environments
        self._source = source
        self._wait_timeout = wait_timeout
        self.limits = LogStreamLimits(total=max_streams, per_token=max_streams_per_token)

    @property
    def open_streams(self) -> int:
        return self.limits.open_streams

    async def open(self, env_id: int, *, caller: Caller, stream: str) -> LogStream:
        """Check the request, take a slot and return the stream (see module docstring)."""
        chart, container = parse_stream(stream)
        record = await self._environments.get(env_id, caller=caller)
        if chart != record.chart_name:
            raise LogStreamUnavailable(
                f"stream: chart {chart!r} is not this environment's chart ({record.chart_name!r})"
            )
        if record.lifecycle == Lifecycle.DELETING.value:
            raise EnvironmentBeingDeleted(f"environment {env_id} is being deleted")
        release = self.limits.acquire(caller)
        return LogStream(self._follow(record, container, caller), release)

    async def _follow(
        self, record: EnvironmentRecord, container: str, caller: Caller
    ) -> AsyncIterator[LogLine]:
        async def environment_exists() -> bool:
            try:
                current = await self._environments.get(record.id, caller=caller)
            except EnvironmentNotFound:
                return False
            return current.lifecycle != Lifecycle.DELETING.value

        logger.info("environment %s: following container %s", record.id, container)
        try:
            async for line in self._source.follow(
                record.namespace,
                record.id,
                container,
                wait_timeout=self._wait_timeout,
                environment_exists=environment_exists,
            ):
                yield line
        except LogSourceDeleted as exc:
            logger.info("environment %s: log stream of %s ended: %s", record.id, container, exc)
        except (LogStreamError, ClusterError) as exc:
            logger.warning(
                "environment %s: log stream of %s ended: %s",
                record.id,
                container,
                scrub_message(str(exc), record.values),
            )
