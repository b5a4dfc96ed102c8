"""Following the log of one container of an environment (the SSE log stream's cluster half).

:meth:`LogFollower.follow` yields :class:`LogLine` objects for the container named
``container`` in some pod of the environment:

1. **Wait** (at most ``wait_timeout`` seconds) until a pod labelled with the environment id
   has that container (regular or init) *and* the container has started (running or
   terminated): list the namespace's pods with the environment label, then watch from the
   list's resourceVersion until a pod qualifies. A watch the server ends, or a 410 Gone,
   means list again. When time runs out, :class:`LogWaitTimeout` says what was last seen
   (no such pod, or the container still waiting and why, e.g. ``ImagePullBackOff``).
2. **Follow** ``pods/<name>/log?container=…&follow=true&timestamps=true`` and yield one
   :class:`LogLine` per line, with the kubelet's RFC 3339 timestamp parsed (nanoseconds are
   truncated to microseconds; a line without a timestamp gets the time it was read).
3. **End** when the server ends the stream, which it does when the container terminates.

Throughout both phases a second, concurrent watch follows the environment's namespace
(``fieldSelector=metadata.name=…``). The stream ends with :class:`LogSourceDeleted` as soon
as the namespace is being deleted (``deletionTimestamp``) or is gone after having been
seen, so a stream of a deleted environment never lingers until its wait timeout. A
namespace that does not exist *yet* is normal (the stream was opened right after the
create, before the deployer ran): while it is absent, ``environment_exists`` (when given)
is asked every ``absent_recheck`` seconds, and the stream ends when it answers False (the
environment was deleted before its namespace was ever made). Errors of that watch are
retried with a capped backoff; they never end the stream by themselves.

So one stream holds at most two connections of its client's pool at any moment (one
for the pod wait or the follow, one for the namespace watch).

Awkward cases, by design:

- Several candidate pods (a Job that retried): a pod whose container is *running* wins over
  one whose container already terminated; among equals the newest pod wins. Once following
  one pod the stream ends with that container's termination, even if the Job then starts a
  replacement pod; the client sees the end and polls the environment's status.
- A 400 from the log endpoint right after the container was seen starting (the kubelet has
  not caught up) is retried until the wait deadline.
- Only the wait is bounded; the follow itself lasts as long as the container runs. Cancel
  the consuming task (or ``aclose`` the iterator) to stop early: both watches and the log
  response are released before the cancellation propagates.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.discovery import ResourceInfo, collection_path, object_path
from catalyst.cluster.errors import ClusterError, ClusterGoneError
from catalyst.cluster.labels import environment_selector

logger = logging.getLogger(__name__)

_PODS = ResourceInfo(plural="pods", namespaced=True, group="", version="v1", kind="Pod")
_NAMESPACES_PATH = "/api/v1/namespaces"

# One watch request never outlives this; the loop re-lists and re-watches until the deadline.
_WATCH_SECONDS = 60

_TIMESTAMP = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?(?P<tz>Z|[+-]\d{2}:\d{2})$"
)


@dataclass(frozen=True, slots=True)
class LogLine:
    timestamp: datetime
    line: str


class LogStreamError(Exception):
    """The container's log cannot be followed."""


class LogWaitTimeout(LogStreamError):
    """No pod with the started container appeared within the wait timeout."""


class LogSourceDeleted(LogStreamError):
    """The environment's namespace (or the environment itself) was deleted mid-stream."""


EnvironmentExists = Callable[[], Awaitable[bool]]
"""Asked while the namespace is absent: False ends the stream (the environment is gone)."""

_NAMESPACE_BACKOFF_CAP = 5.0


def parse_timestamp(text: str) -> datetime | None:
    """An RFC 3339 (nano) timestamp as an aware UTC datetime, or None if it is not one."""
    match = _TIMESTAMP.match(text)
    if match is None:
        return None
    frac = (match["frac"] or "")[:6].ljust(6, "0")
    tz = "+00:00" if match["tz"] == "Z" else match["tz"]
    try:
        return datetime.fromisoformat(f"{match['base']}.{frac}{tz}").astimezone(UTC)
    except ValueError:
        return None


def parse_log_line(raw: bytes, *, now: datetime | None = None) -> LogLine:
    """Split a kubelet ``timestamps=true`` line into its timestamp and text."""
    text = raw.decode("utf-8", errors="replace").rstrip("\n").removesuffix("\r")
    head, sep, rest = text.partition(" ")
    timestamp = parse_timestamp(head)
    if timestamp is None:
        return LogLine(now or datetime.now(UTC), text)
    return LogLine(timestamp, rest if sep else "")


def _container_state(pod: dict[str, Any], container: str) -> dict[str, Any] | None:
    """The container's ``state`` if the pod has such a container (``{}`` before any status)."""
    spec = pod.get("spec") or {}
    declared = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    if not any(isinstance(c, dict) and c.get("name") == container for c in declared):
        return None
    status = pod.get("status") or {}
    for entry in [
        *(status.get("initContainerStatuses") or []),
        *(status.get("containerStatuses") or []),
    ]:
        if isinstance(entry, dict) and entry.get("name") == container:
            state = entry.get("state")
            return state if isinstance(state, dict) else {}
    return {}


def _started(state: dict[str, Any]) -> bool:
    return "running" in state or "terminated" in state


def _waiting_reason(state: dict[str, Any]) -> str:
    waiting = state.get("waiting")
    if isinstance(waiting, dict) and waiting.get("reason"):
        return str(waiting["reason"])
    return "not started"


def pick_pod(pods: list[dict[str, Any]], container: str) -> dict[str, Any] | None:
    """The pod to follow: has the container started; running beats terminated; newest wins."""
    candidates = []
    for pod in pods:
        state = _container_state(pod, container)
        if state is not None and _started(state):
            created = str((pod.get("metadata") or {}).get("creationTimestamp") or "")
            candidates.append(("running" in state, created, pod))
    if not candidates:
        return None
    # RFC 3339 timestamps of one server compare correctly as strings.
    return max(candidates, key=lambda c: (c[0], c[1]))[2]


class _Observation:
    """The last thing seen while waiting, for a useful timeout message."""

    def __init__(self, container: str) -> None:
        self.container = container
        self.detail = "no pod of the environment has been seen"

    def saw(self, pods: list[dict[str, Any]]) -> None:
        for pod in pods:
            state = _container_state(pod, self.container)
            if state is not None:
                name = (pod.get("metadata") or {}).get("name")
                self.detail = f"pod {name}: container {self.container} is {_waiting_reason(state)}"
                return
        if pods:
            self.detail = f"no pod of the environment has a container named {self.container}"


class LogFollower:
    """Follows environment container logs through a :class:`ClusterClient`."""

    def __init__(
        self, client: ClusterClient, *, retry_interval: float = 0.2, absent_recheck: float = 2.0
    ) -> None:
        self._client = client
        self._retry_interval = retry_interval
        self._absent_recheck = absent_recheck

    async def follow(
        self,
        namespace: str,
        environment_id: int,
        container: str,
        *,
        wait_timeout: float,
        environment_exists: EnvironmentExists | None = None,
    ) -> AsyncIterator[LogLine]:
        """Wait for the container to start, then yield its log lines until it terminates
        (or until the namespace is deleted: `LogSourceDeleted`)."""
        lines = self._wait_and_follow(namespace, environment_id, container, wait_timeout)
        deleted = asyncio.create_task(
            self._until_deleted(namespace, environment_exists),
            name=f"log stream: deletion of {namespace}",
        )
        step: asyncio.Task[LogLine | None] | None = None
        try:
            while True:
                step = asyncio.create_task(_next_line(lines))
                await asyncio.wait({step, deleted}, return_when=asyncio.FIRST_COMPLETED)
                if not step.done():
                    raise LogSourceDeleted(deleted.result())
                line = step.result()
                step = None
                if line is None:
                    return
                yield line
        finally:
            # Stop both lanes and wait for them, so their responses are released before
            # this generator finishes (and before `lines` is closed: it must not be running).
            for task in (step, deleted):
                if task is not None:
                    task.cancel()
            await asyncio.wait({t for t in (step, deleted) if t is not None})
            await lines.aclose()

    async def _wait_and_follow(
        self, namespace: str, environment_id: int, container: str, wait_timeout: float
    ) -> AsyncGenerator[LogLine, None]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_timeout
        observation = _Observation(container)
        try:
            async with asyncio.timeout_at(deadline):
                pod_name = await self._wait_for_pod(namespace, environment_id, observation)
        except TimeoutError:
            raise LogWaitTimeout(
                f"container {container} of environment {environment_id} did not start within "
                f"{wait_timeout:g}s ({observation.detail})"
            ) from None
        async for line in self._follow_pod(namespace, pod_name, container, deadline):
            yield line

    async def _wait_for_pod(
        self, namespace: str, environment_id: int, observation: _Observation
    ) -> str:
        selector = environment_selector(environment_id)
        path = collection_path(_PODS, namespace)
        while True:
            listed = await self._client.request("GET", path, query={"labelSelector": selector})
            pods = listed.get("items") or []
            observation.saw(pods)
            pod = pick_pod(pods, observation.container)
            if pod is not None:
                return str(pod["metadata"]["name"])
            rv = str((listed.get("metadata") or {}).get("resourceVersion") or "")
            name = await self._watch_for_pod(path, selector, rv, observation)
            if name is not None:
                return name

    async def _watch_for_pod(
        self, path: str, selector: str, rv: str, observation: _Observation
    ) -> str | None:
        """Watch until a pod qualifies (its name) or the watch ends (None: list again)."""
        query: dict[str, str | int | bool] = {
            "watch": True,
            "labelSelector": selector,
            "allowWatchBookmarks": True,
            "timeoutSeconds": _WATCH_SECONDS,
        }
        if rv:
            query["resourceVersion"] = rv
        try:
            async with self._client.stream("GET", path, query=query) as response:
                async for raw in response.content:
                    if not raw.strip():
                        continue
                    event = orjson.loads(raw)
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        return None  # typically 410 Gone: list again
                    if kind in ("ADDED", "MODIFIED"):
                        observation.saw([obj])
                        if pick_pod([obj], observation.container) is not None:
                            return str(obj["metadata"]["name"])
        except ClusterGoneError:
            pass  # the pods' resourceVersion expired: list again
        except aiohttp.ClientPayloadError as exc:
            # The server cut the watch mid-event; listing again recovers cleanly.
            logger.debug("pod watch in %s ended abruptly: %s", path, exc)
        return None

    async def _follow_pod(
        self, namespace: str, pod: str, container: str, deadline: float
    ) -> AsyncIterator[LogLine]:
        path = object_path(_PODS, namespace, pod, "log")
        query: dict[str, str | int | bool] = {
            "container": container,
            "follow": True,
            "timestamps": True,
        }
        loop = asyncio.get_running_loop()
        while True:
            try:
                async with self._client.stream("GET", path, query=query) as response:
                    async for raw in response.content:
                        yield parse_log_line(raw)
                return
            except aiohttp.ClientPayloadError as exc:
                raise LogStreamError(
                    f"the log stream of container {container} of pod {pod} broke: {exc}"
                ) from exc
            except ClusterError as exc:
                # 400 "waiting to start": the kubelet lags the status we saw; retry briefly.
                if exc.status != 400 or loop.time() + self._retry_interval > deadline:
                    raise LogStreamError(
                        f"cannot follow container {container} of pod {pod}: {exc.message}"
                    ) from exc
                logger.debug("log of %s/%s not ready yet: %s", pod, container, exc.message)
            await asyncio.sleep(self._retry_interval)

    # -- the namespace lane ---------------------------------------------------------------

    async def _until_deleted(
        self, namespace: str, environment_exists: EnvironmentExists | None
    ) -> str:
        """Return (why) once the namespace is being deleted or gone; never before."""
        seen = False
        backoff = self._retry_interval
        while True:
            try:
                listed = await self._client.request(
                    "GET", _NAMESPACES_PATH, query={"fieldSelector": f"metadata.name={namespace}"}
                )
                items = listed.get("items") or []
                if items:
                    seen = True
                    if _terminating(items[0]):
                        return f"namespace {namespace} is being deleted"
                elif seen:
                    return f"namespace {namespace} was deleted"
                elif environment_exists is not None and not await _asks(environment_exists):
                    return "the environment was deleted"
                rv = str((listed.get("metadata") or {}).get("resourceVersion") or "")
                recheck = None if seen or environment_exists is None else self._absent_recheck
                try:
                    async with asyncio.timeout(recheck):
                        ended = await self._watch_namespace(namespace, rv, seen=seen)
                except TimeoutError:
                    ended = None  # time to ask whether the environment still exists
                if ended is not None:
                    return ended
                backoff = self._retry_interval
            except (ClusterError, aiohttp.ClientError, ValueError) as exc:
                # ValueError: an event that is not JSON. None of these ends the stream.
                logger.debug("watching namespace %s failed: %s; retrying", namespace, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _NAMESPACE_BACKOFF_CAP)

    async def _watch_namespace(self, namespace: str, rv: str, *, seen: bool) -> str | None:
        """Watch until the namespace is deleted (why) or the picture changed (None: list)."""
        query: dict[str, str | int | bool] = {
            "watch": True,
            "fieldSelector": f"metadata.name={namespace}",
            "allowWatchBookmarks": True,
            "timeoutSeconds": _WATCH_SECONDS,
        }
        if rv:
            query["resourceVersion"] = rv
        try:
            async with self._client.stream("GET", _NAMESPACES_PATH, query=query) as response:
                async for raw in response.content:
                    if not raw.strip():
                        continue
                    event = orjson.loads(raw)
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "DELETED":
                        return f"namespace {namespace} was deleted"
                    if kind in ("ADDED", "MODIFIED"):
                        if _terminating(obj):
                            return f"namespace {namespace} is being deleted"
                        if not seen:
                            return None  # it exists now: list again, without a recheck
                    elif kind == "ERROR":
                        return None  # typically 410 Gone: list again
        except ClusterGoneError:
            pass  # the pods' resourceVersion expired: list again
        except aiohttp.ClientPayloadError:
            pass  # the server cut the watch mid-event: list again
        return None


async def _asks(environment_exists: EnvironmentExists) -> bool:
    """Its answer; True when it cannot answer (the database is away): keep streaming."""
    try:
        return await environment_exists()
    except Exception as exc:
        logger.debug("cannot tell whether the environment still exists: %r", exc)
        return True


async def _next_line(lines: AsyncIterator[LogLine]) -> LogLine | None:
    """The next line, or None at the end (a task must not raise StopAsyncIteration)."""
    try:
        return await anext(lines)
    except StopAsyncIteration:
        return None


def _terminating(namespace: dict[str, Any]) -> bool:
    return bool((namespace.get("metadata") or {}).get("deletionTimestamp"))
