"""Container logs for kwok's pods, served through the real ``pods/log`` path.

kube-apiserver answers ``GET pods/NAME/log`` by calling the node's kubelet endpoint
(``status.daemonEndpoints.kubeletEndpoint``). kwok serves that endpoint and reads each
container's log from the file a kwok ``Logs`` object names (CRI log format, the kubelet's
own reader). Three pieces complete it here:

- :class:`PodTracker` lists and watches every pod (relisting after a 410 or a broken watch).
- :class:`LogWriter` writes each container's lines into its CRI log file at the moments
  kubesim's simulator would print them: the ``sim.kubesim.io/logs`` lines (or the rules'
  ``logs``) spread evenly over the container's run (line *i* of *n* at
  ``start + run·(i+1)/(n+1)``; over ``readyAfter`` for containers that never exit), else the
  single line ``kubesim: container NAME started``. Each pod gets a kwok ``Logs`` object
  (owned by the pod, so garbage collection removes it) naming one file per container.
- :class:`KubeletFront` is the node's kubelet endpoint (HTTPS, certificate from the cluster
  CA). It passes requests to kwok's server and relays the answer. It adds what kwok cannot
  do: kwok's log reader never learns that a container stopped (its runtime stub always says
  "running"), so a followed log would never end. The front asks kwok for timestamps, relays
  lines (without the timestamps unless the client asked), and ends a followed stream once
  the container has stopped (or the pod is gone) and the container's last line has been
  relayed, as a kubelet does. Like a kubelet, it answers 400 "waiting to start" for a
  container that has not started. exec, attach and port-forward (upgrade requests) are not
  served.

Guarantees: a followed log ends within moments of the container's end; lines carry the
timestamps they were written with (the same on every read); every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from kubesim.sim.rules import ANNOTATION_PREFIX, FAIL_MODES, Rules, RulesError, parse_duration
from realkube.client import ApiStatusError, KubeClient
from realkube.pki import Pki

log = logging.getLogger(__name__)

MANAGER = "realkube"
LOGS_API = "/apis/kwok.x-k8s.io/v1alpha1"
KWOK_RETRY_WINDOW = 5.0  # how long to wait for kwok to learn of a new pod's Logs object
KWOK_RETRY_STEP = 0.1
STATE_LAG = 3.0  # how long a log request waits for the pod tracker to catch up
PodKey = tuple[str, str]
Listener = Callable[[str, dict[str, Any]], None]


# ------------------------------------------------------------------ behaviour (pod level)


@dataclass(frozen=True, slots=True)
class Plan:
    """The pod-level behaviour the kwok stages follow (see :mod:`realkube.stages`)."""

    fail: str | None
    ready: float
    run: float
    runlen: float | None  # None: the containers never exit


def _annotation_seconds(annotations: dict[str, str], name: str) -> float | None:
    """The annotation's duration, or None when it is absent or malformed (as kubesim)."""
    raw = annotations.get(ANNOTATION_PREFIX + name)
    if not isinstance(raw, str):
        return None
    try:
        return parse_duration(raw, key=name)
    except RulesError:
        return None


def pod_plan(rules: Rules, pod: dict[str, Any]) -> Plan:
    """The same computation as the stages' jq ``plan`` (rules, then the pod's annotations)."""
    meta = pod.get("metadata") or {}
    namespace = meta.get("namespace") or ""
    labels = meta.get("labels") or {}
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    fail: str | None = None
    ready, run = rules.timings.ready_after, rules.timings.run_for
    for rule in rules.pods:
        container = rule.container
        if container is not None and container not in names:
            continue
        if rule.matches(namespace, labels, container if container is not None else ""):
            ready = ready if rule.ready_after is None else rule.ready_after
            run = run if rule.run_for is None else rule.run_for
            fail = fail if rule.fail is None else rule.fail
    annotations = meta.get("annotations") or {}
    if annotations.get(ANNOTATION_PREFIX + "fail") in FAIL_MODES:
        fail = annotations[ANNOTATION_PREFIX + "fail"]
    ready_override = _annotation_seconds(annotations, "ready-after")
    ready = ready if ready_override is None else ready_override
    run_override = _annotation_seconds(annotations, "run-for")
    run = run if run_override is None else run_override
    policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
    runlen: float | None
    if fail == "CrashLoopBackOff":
        runlen = max(min(run, ready), 0.01)
    elif fail == "ExitError":
        runlen = max(run, 0.01)
    elif policy != "Always":
        runlen = run
    else:
        runlen = None
    return Plan(fail, ready, run, runlen)


# ------------------------------------------------------------------------ timestamps


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def to_ns(text: str) -> int | None:
    """Nanoseconds since the epoch of an RFC 3339 timestamp (any number of digits)."""
    try:
        whole, _, rest = text.rstrip("Z").partition(".")
        base = datetime.fromisoformat(whole + "+00:00")
    except ValueError:
        return None
    digits = "".join(ch for ch in rest if ch.isdigit())[:9].ljust(9, "0")
    return int(base.timestamp()) * 1_000_000_000 + int(digits)


def rfc3339_nano(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


# ---------------------------------------------------------------------------- pods


class PodTracker:
    """Every pod in the cluster, kept current by list + watch; tells listeners of changes."""

    def __init__(self, client: KubeClient) -> None:
        self._client = client
        self.pods: dict[PodKey, dict[str, Any]] = {}
        self._listeners: list[Listener] = []
        self.changed = asyncio.Condition()
        self.synced = asyncio.Event()

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.pods.get((namespace, name))

    async def _emit(self, kind: str, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        key = (meta["namespace"], meta["name"])
        if kind == "DELETED":
            current = self.pods.get(key)
            if current is not None and current["metadata"]["uid"] == meta["uid"]:
                del self.pods[key]
        else:
            self.pods[key] = pod
        for listener in self._listeners:
            try:
                listener(kind, pod)
            except Exception:
                log.exception("pod listener failed")
        async with self.changed:
            self.changed.notify_all()

    async def run(self) -> None:
        while True:
            try:
                listed = await self._client.get("/api/v1/pods")
                seen = set()
                for pod in listed.get("items") or []:
                    meta = pod["metadata"]
                    seen.add((meta["namespace"], meta["name"]))
                    await self._emit("ADDED", pod)
                for key in [k for k in self.pods if k not in seen]:
                    await self._emit("DELETED", self.pods[key])
                self.synced.set()
                version = listed["metadata"]["resourceVersion"]
                while True:
                    async for event in self._client.watch("/api/v1/pods", resource_version=version):
                        kind, obj = event.get("type"), event.get("object") or {}
                        if kind == "ERROR":
                            raise ApiStatusError(
                                int(obj.get("code") or 500), str(obj.get("message"))
                            )
                        version = obj.get("metadata", {}).get("resourceVersion", version)
                        if kind in ("ADDED", "MODIFIED", "DELETED"):
                            await self._emit(str(kind), obj)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # relist after 410, a broken stream or a restart
                log.debug("pod watch restarts: %s", exc)
                await asyncio.sleep(0.5)


# ------------------------------------------------------------------------------ logs


@dataclass(slots=True)
class _Run:
    """One run of one container: the lines it prints and how many are written."""

    started: datetime
    lines: list[tuple[datetime, str]]
    written: int = 0
    task: asyncio.Task[None] | None = None


@dataclass(slots=True)
class _ContainerLog:
    path: Path
    run_key: tuple[int, str] | None = None  # (restartCount, startedAt) of the current run
    run: _Run | None = None
    final: bool = False  # the current run is over and every line is in the file
    last_ns: int | None = None  # timestamp of the last line in the file


@dataclass(slots=True)
class _PodLogs:
    uid: str
    containers: dict[str, _ContainerLog] = field(default_factory=dict)


class LogWriter:
    """Writes every container's CRI log file on schedule and names the files to kwok."""

    def __init__(self, client: KubeClient, rules: Rules, directory: Path) -> None:
        self._client = client
        self._rules = rules
        self._directory = directory
        self._pods: dict[str, _PodLogs] = {}  # by pod uid
        self.changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for pod in self._pods.values():
            for c in pod.containers.values():
                if c.run is not None and c.run.task is not None:
                    tasks.append(c.run.task)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_pod(self, kind: str, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        if kind == "DELETED":
            state = self._pods.pop(uid, None)
            if state is not None:
                for name, c in state.containers.items():
                    self._finish(c, name)
                self._notify()
            return
        if not (pod.get("spec") or {}).get("nodeName"):
            return
        state = self._pods.get(uid)
        if state is None:
            state = self._new_pod(pod)
        self._follow_statuses(pod, state)

    def _new_pod(self, pod: dict[str, Any]) -> _PodLogs:
        meta = pod["metadata"]
        spec = pod.get("spec") or {}
        folder = self._directory / meta["namespace"] / f"{meta['name']}_{meta['uid']}"
        folder.mkdir(parents=True, exist_ok=True)
        state = _PodLogs(meta["uid"])
        names = [
            c["name"] for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
        ]
        for name in names:
            path = folder / f"{name}.log"
            # Rewritten from the start (a restarted realkube sees running pods anew; their
            # lines come out again with the same timestamps).
            path.write_bytes(b"")
            state.containers[name] = _ContainerLog(path)
        self._pods[meta["uid"]] = state
        self._spawn(self._publish(pod, state))
        return state

    async def _publish(self, pod: dict[str, Any], state: _PodLogs) -> None:
        meta = pod["metadata"]
        body = {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "Logs",
            "metadata": {
                "name": meta["name"],
                "namespace": meta["namespace"],
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]}
                ],
            },
            "spec": {
                "logs": [
                    {"containers": [name], "logsFile": str(c.path), "follow": True}
                    for name, c in state.containers.items()
                ]
            },
        }
        path = f"{LOGS_API}/namespaces/{meta['namespace']}/logs/{meta['name']}"
        try:
            await self._client.apply(path, body, manager=MANAGER)
        except ApiStatusError as exc:  # namespace terminating, pod gone: nothing to serve
            log.debug("no Logs object for pod %s/%s: %s", meta["namespace"], meta["name"], exc)
        except aiohttp.ClientError as exc:
            log.warning(
                "Logs object for pod %s/%s not written: %s", meta["namespace"], meta["name"], exc
            )

    def _follow_statuses(self, pod: dict[str, Any], state: _PodLogs) -> None:
        status = pod.get("status") or {}
        statuses = (status.get("initContainerStatuses") or []) + (
            status.get("containerStatuses") or []
        )
        changed = False
        for cs in statuses:
            c = state.containers.get(cs.get("name"))
            if c is None:
                continue
            st = cs.get("state") or {}
            running = st.get("running") or {}
            terminated = st.get("terminated") or {}
            started = running.get("startedAt") or terminated.get("startedAt")
            if started:
                key = (int(cs.get("restartCount") or 0), str(started))
                if key != c.run_key:
                    self._finish(c, cs["name"])
                    c.run_key = key
                    c.final = False
                    c.run = _Run(parse_time(started), self._lines(pod, cs["name"], started))
                    changed = True
                    if running:
                        c.run.task = asyncio.get_running_loop().create_task(
                            self._write_run(c, cs["name"])
                        )
            if c.run is not None and not running and not c.final:
                self._finish(c, cs["name"])
                changed = True
        if changed:
            self._notify()

    def _lines(
        self, pod: dict[str, Any], container: str, started: str
    ) -> list[tuple[datetime, str]]:
        start = parse_time(started)
        behaviour = self._rules.behaviour(pod, container)
        if behaviour.logs is None:
            return [(start, f"kubesim: container {container} started")]
        texts = behaviour.logs.split("\n")
        if texts and texts[-1] == "":
            texts.pop()
        plan = pod_plan(self._rules, pod)
        duration = plan.runlen if plan.runlen is not None else plan.ready
        n = len(texts)
        return [
            (start + timedelta(seconds=duration * (i + 1) / (n + 1)), text)
            for i, text in enumerate(texts)
        ]

    async def _write_run(self, c: _ContainerLog, name: str) -> None:
        run = c.run
        assert run is not None
        for moment, _ in run.lines[run.written :]:
            delay = (moment - datetime.now(UTC)).total_seconds()
            if delay > 0:
                await asyncio.sleep(delay)
            if c.run is not run:
                return
            self._write_upto(c, run, run.written + 1)
            self._notify()

    def _write_upto(self, c: _ContainerLog, run: _Run, count: int) -> None:
        pending = run.lines[run.written : count]
        if not pending:
            return
        with c.path.open("a", encoding="utf-8") as handle:
            for moment, text in pending:
                stamp = rfc3339_nano(moment)
                handle.write(f"{stamp} stdout F {text}\n")
                c.last_ns = to_ns(stamp)
        run.written = count

    def _finish(self, c: _ContainerLog, name: str) -> None:
        """The run ended: every remaining line goes out now, and the log is final."""
        run = c.run
        if run is not None:
            if run.task is not None and run.task is not asyncio.current_task():
                run.task.cancel()
            self._write_upto(c, run, len(run.lines))
        c.final = True

    def _notify(self) -> None:
        async def notify() -> None:
            async with self.changed:
                self.changed.notify_all()

        self._spawn(notify())

    def final_state(self, uid: str, container: str) -> tuple[bool, int | None]:
        """``(final, last line's ns)``; a pod it no longer tracks counts as final."""
        pod = self._pods.get(uid)
        c = pod.containers.get(container) if pod is not None else None
        if c is None:
            return True, None
        return c.final, c.last_ns

    async def wait_final(self, uid: str, container: str) -> int | None:
        async with self.changed:
            await self.changed.wait_for(lambda: self.final_state(uid, container)[0])
            return self.final_state(uid, container)[1]


# -------------------------------------------------------------------- kubelet endpoint


def _waiting_reason(pod: dict[str, Any], container: str) -> str | None:
    """Why ``container`` has not started (None once it has run at all)."""
    status = pod.get("status") or {}
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        if cs.get("name") != container:
            continue
        st = cs.get("state") or {}
        if "running" in st or "terminated" in st or (cs.get("lastState") or {}).get("terminated"):
            return None
        return str((st.get("waiting") or {}).get("reason") or "ContainerCreating")
    return "ContainerCreating"


class KubeletFront:
    """The node's kubelet endpoint: kwok's server behind it, followed logs that end."""

    def __init__(
        self, pki: Pki, kwok_url: str, pods: PodTracker, writer: LogWriter, port: int
    ) -> None:
        self._pki = pki
        self._kwok_url = kwok_url
        self._pods = pods
        self._writer = writer
        self.port = port
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/containerLogs/{namespace}/{pod}/{container}", self._logs)
        app.router.add_route("*", "/{tail:.*}", self._proxy)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self._pki.kubelet_crt), str(self._pki.kubelet_key))
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5)
        )
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port, ssl_context=context).start()
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _proxy(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        async with self._session.request(
            request.method,
            self._kwok_url + request.path_qs,
            data=await request.read(),
            headers={
                k: v
                for k, v in request.headers.items()
                if k.lower() not in ("host", "content-length", "transfer-encoding", "connection")
            },
        ) as upstream:
            body = await upstream.read()
            return web.Response(
                status=upstream.status,
                body=body,
                content_type=upstream.content_type,
            )

    async def _started_pod(
        self, namespace: str, name: str, container: str
    ) -> dict[str, Any] | None:
        """The pod, once this process has seen the container start (the API server may be a
        moment ahead of the tracker); after STATE_LAG seconds, the pod as last seen."""

        def started() -> bool:
            pod = self._pods.get(namespace, name)
            return pod is not None and _waiting_reason(pod, container) is None

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STATE_LAG), self._pods.changed:
                await self._pods.changed.wait_for(started)
        return self._pods.get(namespace, name)

    async def _open_kwok(self, url: str, params: dict[str, str]) -> aiohttp.ClientResponse:
        """kwok's answer; retried briefly while kwok has not yet seen the pod's Logs object."""
        assert self._session is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + KWOK_RETRY_WINDOW
        while True:
            response = await self._session.get(url, params=params)
            if response.status < 400 or loop.time() > deadline:
                return response
            text = await response.text()
            response.release()
            if "not found" not in text:
                raise web.HTTPBadRequest(text=text)
            await asyncio.sleep(KWOK_RETRY_STEP)

    async def _logs(self, request: web.Request) -> web.StreamResponse:
        namespace = request.match_info["namespace"]
        name = request.match_info["pod"]
        container = request.match_info["container"]
        pod = await self._started_pod(namespace, name, container)
        if pod is None:
            raise web.HTTPNotFound(text=f'pod "{name}" not found')
        reason = _waiting_reason(pod, container)
        if reason is not None:
            raise web.HTTPBadRequest(
                text=f'container "{container}" in pod "{name}" is waiting to start: {reason}'
            )
        query = dict(request.query)
        follow = query.get("follow") in ("true", "1")
        want_stamps = query.get("timestamps") in ("true", "1")
        query["timestamps"] = "true"
        uid = pod["metadata"]["uid"]
        upstream = await self._open_kwok(
            f"{self._kwok_url}/containerLogs/{namespace}/{name}/{container}", query
        )
        try:
            if upstream.status >= 400:
                raise web.HTTPBadRequest(text=await upstream.text())
            response = web.StreamResponse(status=200)
            response.content_type = "text/plain"
            await response.prepare(request)
            relayed = _Relay(response, want_stamps)
            if not follow:
                await relayed.copy(upstream)
            else:
                await self._follow(upstream, relayed, uid, container, query)
            await response.write_eof()
            return response
        finally:
            upstream.release()

    async def _follow(
        self,
        upstream: aiohttp.ClientResponse,
        relayed: _Relay,
        uid: str,
        container: str,
        query: dict[str, str],
    ) -> None:
        copy = asyncio.ensure_future(relayed.copy(upstream))
        try:
            last_ns = await _race(self._writer.wait_final(uid, container), copy)
            if copy.done():
                return
            since_ns = to_ns(query["sinceTime"]) if "sinceTime" in query else None
            nothing_more = (
                last_ns is None
                or query.get("tailLines") == "0"
                or (since_ns is not None and since_ns > last_ns)
            )
            if not nothing_more:
                assert last_ns is not None
                target = last_ns
                await _race(relayed.reached(target), copy)
        finally:
            copy.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await copy


async def _race(main: Any, other: asyncio.Future[Any]) -> Any:
    """Await ``main`` unless ``other`` finishes first (then return None)."""
    task = asyncio.ensure_future(main)
    done, _ = await asyncio.wait({task, other}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


class _Relay:
    """Copies kwok's timestamped lines to the client, noting the last timestamp sent."""

    def __init__(self, response: web.StreamResponse, stamps: bool) -> None:
        self._response = response
        self._stamps = stamps
        self.last_ns: int | None = None
        self._advanced = asyncio.Condition()

    async def copy(self, upstream: aiohttp.ClientResponse) -> None:
        async for raw in upstream.content:
            line = raw.decode("utf-8", errors="replace")
            stamp, _, text = line.partition(" ")
            await self._response.write((line if self._stamps else text).encode())
            ns = to_ns(stamp)
            if ns is not None:
                async with self._advanced:
                    self.last_ns = ns
                    self._advanced.notify_all()

    async def reached(self, target: int) -> None:
        async with self._advanced:
            await self._advanced.wait_for(
                lambda: self.last_ns is not None and self.last_ns >= target
            )
