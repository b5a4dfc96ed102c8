"""``ContainerLogs``: the simulated output of a container, served like the kubelet does.

A container's lines come from ``sim.kubesim.io/logs`` (or the rules' ``logs``), split on
``\\n`` and spread evenly over its current run: over ``runFor`` for containers that exit,
over ``readyAfter`` for long-running ones. Line ``i`` of ``n`` appears at
``start + duration * (i + 1) / (n + 1)``, so every line is out before the container exits.
A container without configured logs prints one line when it starts.

``stream`` supports ``follow`` (waits for each line's moment; ends when the container
terminates or the pod is deleted), ``timestamps`` (RFC3339Nano prefix), ``tail_lines`` and
``since_time``. Errors match the real server: 404 for a missing pod; 400 for a container
that has not started, an unknown container, or no container named in a pod with several.
Awkward case: only the current run of a restarting container is served (no ``previous``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kubesim.errors import bad_request, not_found
from kubesim.sim.clock import Clock
from kubesim.sim.objects import POD, key_of
from kubesim.sim.pods import Kubelet
from kubesim.store import Event, Store
from kubesim.timestamps import rfc3339_nano


@dataclass(frozen=True, slots=True)
class LogLine:
    offset: float  # loop-clock seconds since the pod's origin
    wall: datetime
    text: str


class ContainerLogs:
    def __init__(self, store: Store, kubelet: Kubelet, clock: Clock) -> None:
        self.store = store
        self.kubelet = kubelet
        self.clock = clock
        self._gone: dict[tuple[str, str], list[asyncio.Event]] = {}
        self._listening = False

    def close(self) -> None:
        if self._listening:
            self.store.remove_listener(self._on_event)
            self._listening = False
        for events in self._gone.values():
            for ev in events:
                ev.set()
        self._gone.clear()

    def _on_event(self, event: Event) -> None:
        if event.resource is POD and event.type == "DELETED":
            for ev in self._gone.pop(key_of(event.obj), []):
                ev.set()

    def _deletion_event(self, key: tuple[str, str]) -> asyncio.Event:
        if not self._listening:
            self.store.add_listener(self._on_event)
            self._listening = True
        ev = asyncio.Event()
        self._gone.setdefault(key, []).append(ev)
        return ev

    def _release(self, key: tuple[str, str], ev: asyncio.Event) -> None:
        waiting = self._gone.get(key)
        if waiting and ev in waiting:
            waiting.remove(ev)
            if not waiting:
                del self._gone[key]

    async def stream(
        self,
        namespace: str,
        pod: str,
        container: str | None,
        *,
        follow: bool,
        timestamps: bool,
        tail_lines: int | None,
        since_time: datetime | None,
    ) -> AsyncIterator[bytes]:
        """An async generator of log chunks; raises ``ApiError`` on its first step (before
        yielding anything) when the request is invalid."""
        obj = self.store.get(POD, namespace, pod)
        if obj is None:
            raise not_found("pods", pod)
        name = _pick_container(obj, container)
        lines, end, origin_mono = self._lines(obj, name)

        def render(line: LogLine) -> bytes:
            prefix = f"{rfc3339_nano(line.wall)} " if timestamps else ""
            return f"{prefix}{line.text}\n".encode()

        async for chunk in self._generate(
            obj, lines, end, origin_mono, follow, tail_lines, since_time, render
        ):
            yield chunk

    async def _generate(
        self,
        obj: dict[str, Any],
        lines: list[LogLine],
        end: float | None,
        origin_mono: float,
        follow: bool,
        tail_lines: int | None,
        since_time: datetime | None,
        render: Any,
    ) -> AsyncIterator[bytes]:
        now = self.clock.monotonic() - origin_mono
        past = [ln for ln in lines if ln.offset <= now]
        future = [ln for ln in lines if ln.offset > now]
        if since_time is not None:
            past = [ln for ln in past if ln.wall >= since_time]
        if tail_lines is not None:
            past = past[-tail_lines:] if tail_lines > 0 else []
        if not follow:
            for line in past:
                yield render(line)
            return
        # Listen for the deletion before the first yield: the consumer may delete the pod
        # as soon as it has a line, and a deletion nobody heard would hang the stream.
        key = key_of(obj)
        gone = self._deletion_event(key)
        try:
            for line in past:
                yield render(line)
            for line in future:
                if not await self._sleep_until(origin_mono + line.offset, gone):
                    return
                yield render(line)
            if end is not None:
                await self._sleep_until(origin_mono + end, gone)
                return
            await gone.wait()
        finally:
            self._release(key, gone)

    async def _sleep_until(self, when: float, gone: asyncio.Event) -> bool:
        """Sleep until loop time ``when``; False if the pod went away first."""
        delay = when - self.clock.monotonic()
        if delay <= 0:
            return not gone.is_set()
        try:
            await asyncio.wait_for(gone.wait(), timeout=delay)
        except TimeoutError:
            return True
        return False

    def _lines(self, pod: dict[str, Any], name: str) -> tuple[list[LogLine], float | None, float]:
        snap = self.kubelet.snapshot(pod)
        origin = self.kubelet.origin_of(pod)
        view = snap.containers.get(name) if snap is not None else None
        if snap is None or origin is None or view is None or view.window is None:
            reason = (view.waiting_reason if view is not None else None) or "ContainerCreating"
            pod_name = pod["metadata"]["name"]
            raise bad_request(
                f'container "{name}" in pod "{pod_name}" is waiting to start: {reason}'
            )
        behaviour = self.kubelet.rules.behaviour(pod, name)
        window = view.window
        duration = (window.end - window.start) if window.end is not None else behaviour.ready_after
        if behaviour.logs is not None:
            texts = behaviour.logs.split("\n")
            if texts and texts[-1] == "":
                texts.pop()
        else:
            texts = [f"kubesim: container {name} started"]
        n = len(texts)
        lines = []
        for i, text in enumerate(texts):
            offset = window.start + (
                duration * (i + 1) / (n + 1) if behaviour.logs is not None else 0.0
            )
            lines.append(LogLine(offset, origin.wall + timedelta(seconds=offset), text))
        return lines, window.end, origin.monotonic


def _pick_container(pod: dict[str, Any], container: str | None) -> str:
    spec = pod.get("spec") or {}
    names = [str(c.get("name")) for c in spec.get("containers") or []]
    init_names = [str(c.get("name")) for c in spec.get("initContainers") or []]
    pod_name = pod["metadata"]["name"]
    if container is None:
        if len(names) == 1:
            return names[0]
        message = (
            f"a container name must be specified for pod {pod_name}, "
            f"choose one of: [{' '.join(names)}]"
        )
        if init_names:
            message += f" or one of the init containers: [{' '.join(init_names)}]"
        raise bad_request(message)
    if container not in names and container not in init_names:
        raise bad_request(f"container {container} is not valid for pod {pod_name}")
    return container
