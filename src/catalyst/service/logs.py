"""Log streams: following one container of an environment (``stream=<chart>/<container>``).

`LogService.open` does every check that can fail up front — the environment exists and is
visible to the caller, ``stream`` is ``<chart>/<container>`` and names the environment's own
chart — and only then returns the (lazy) line iterator, so the API can still answer those
failures in the error shape. Waiting for the pod and container (at most
``wait_timeout``), following, and ending when the container terminates are the cluster's
`LogFollower`'s job. A failure after streaming started (the wait timed out, the cluster
went away) ends the stream; it is logged with the environment id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Protocol

from catalyst.cluster import ClusterError, LogLine, LogStreamError
from catalyst.service.caller import Caller
from catalyst.service.errors import LogStreamUnavailable
from catalyst.store.records import EnvironmentRecord

logger = logging.getLogger(__name__)

_CONTAINER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class EnvironmentReader(Protocol):
    async def get(self, env_id: int, *, caller: Caller) -> EnvironmentRecord: ...


class ContainerLogSource(Protocol):
    """Follows one container's log (the cluster's `LogFollower`)."""

    def follow(
        self, namespace: str, environment_id: int, container: str, *, wait_timeout: float
    ) -> AsyncIterator[LogLine]: ...


def parse_stream(stream: str) -> tuple[str, str]:
    """``"<chart>/<container>"`` → (chart, container); `LogStreamUnavailable` otherwise."""
    chart, sep, container = stream.partition("/")
    if not sep or not chart or not _CONTAINER_NAME.match(container):
        raise LogStreamUnavailable(
            "stream: must be <chart>/<container>, e.g. mediawiki/install-mediawiki"
        )
    return chart, container


class LogService:
    """Opens log streams of environments' containers."""

    def __init__(
        self, environments: EnvironmentReader, source: ContainerLogSource, *, wait_timeout: float
    ) -> None:
        self._environments = environments
        self._source = source
        self._wait_timeout = wait_timeout

    async def open(self, env_id: int, *, caller: Caller, stream: str) -> AsyncIterator[LogLine]:
        """Check the request and return the line iterator (see module docstring)."""
        chart, container = parse_stream(stream)
        record = await self._environments.get(env_id, caller=caller)
        if chart != record.chart_name:
            raise LogStreamUnavailable(
                f"stream: chart {chart!r} is not this environment's chart ({record.chart_name!r})"
            )
        return self._follow(record, container)

    async def _follow(self, record: EnvironmentRecord, container: str) -> AsyncIterator[LogLine]:
        logger.info("environment %s: following container %s", record.id, container)
        try:
            async for line in self._source.follow(
                record.namespace, record.id, container, wait_timeout=self._wait_timeout
            ):
                yield line
        except (LogStreamError, ClusterError) as exc:
            logger.warning("environment %s: log stream of %s ended: %s", record.id, container, exc)
