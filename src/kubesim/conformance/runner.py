"""Run one request sequence against one server, in a namespace of its own.

A :class:`Step` is one request (or a poll, or a watch read back from a saved
resourceVersion); :func:`run_sequence` performs the steps in order and returns what each
answered (:class:`Answer`: status code and JSON body, or the watch events). Values saved by a
step (``save``: name → dotted path into its body) are substituted as ``{name}`` into later
paths, queries and bodies, as is ``{ns}`` (the sequence's namespace).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

JSON = "application/json"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

_namespaces = itertools.count(1)


@dataclass(frozen=True)
class Step:
    """One request. ``method`` ``WATCH`` opens a watch (``path`` with ``watch=true`` added)
    and reads ``events`` events (or until ``timeout``); ``until`` polls the request until its
    status code is that value (within ``timeout``) and records the last answer."""

    method: str
    path: str
    body: Any = None
    query: Mapping[str, str] = field(default_factory=dict)
    content_type: str = JSON
    accept: str = JSON
    save: Mapping[str, str] = field(default_factory=dict)
    until: int | None = None
    events: int = 0
    timeout: float = 30.0
    record: bool = True
    keep: tuple[str, ...] = ()  # only these dotted paths of the body are compared


@dataclass(frozen=True)
class Sequence:
    name: str
    about: str
    steps: tuple[Step, ...]
    namespaces: int = 1  # extra namespaces are {ns2}, {ns3}, ... (created like {ns})


@dataclass
class Answer:
    step: int
    request: str
    status: int
    body: Any


def _fill(value: Any, names: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for key, text in names.items():
            value = value.replace("{" + key + "}", text)
        return value
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, dict):
        return {_fill(k, names): _fill(v, names) for k, v in value.items()}
    return value


def dig(body: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(body, list):
            body = body[int(part)]
        elif isinstance(body, dict):
            body = body.get(part)
        else:
            return None
    return body


def _payload(step: Step, body: Any) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


async def _request(session: aiohttp.ClientSession, step: Step, names: dict[str, str]) -> Answer:
    path = _fill(step.path, names)
    query = _fill(dict(step.query), names)
    body = _fill(step.body, names)
    headers = {"Accept": step.accept}
    if body is not None:
        headers["Content-Type"] = step.content_type
    async with session.request(
        step.method, path, params=query, data=_payload(step, body), headers=headers
    ) as response:
        text = await response.text()
        try:
            parsed: Any = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return Answer(0, f"{step.method} {step.path}", response.status, parsed)


async def _watch(session: aiohttp.ClientSession, step: Step, names: dict[str, str]) -> Answer:
    path = _fill(step.path, names)
    query = {"watch": "true", **_fill(dict(step.query), names)}
    events: list[Any] = []
    status = 0
    try:
        async with asyncio.timeout(step.timeout):
            async with session.get(path, params=query, headers={"Accept": JSON}) as response:
                status = response.status
                if status != 200:
                    return Answer(0, f"WATCH {step.path}", status, await response.json())
                async for line in response.content:
                    if not line.strip():
                        continue
                    events.append(json.loads(line))
                    if len(events) >= step.events:
                        break
    except TimeoutError:
        events.append({"type": "(timed out)"})
    return Answer(0, f"WATCH {step.path}", status, events)


async def _poll(session: aiohttp.ClientSession, step: Step, names: dict[str, str]) -> Answer:
    deadline = time.monotonic() + step.timeout
    while True:
        answer = await _request(session, step, names)
        if answer.status == step.until or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.2)


async def _make_namespace(session: aiohttp.ClientSession, name: str, within: float) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    async with session.post("/api/v1/namespaces", json=body) as response:
        if response.status != 201:
            raise RuntimeError(f"namespace {name}: {response.status} {await response.text()}")
    # A real server's ServiceAccount admission refuses pods until "default" exists.
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with session.get(f"/api/v1/namespaces/{name}/serviceaccounts/default") as response:
            if response.status == 200:
                return
        await asyncio.sleep(0.1)


async def run_sequence(
    url: str, context: ssl.SSLContext | None, sequence: Sequence, prefix: str = "diff"
) -> tuple[list[Answer], list[str]]:
    """Answers to every recorded step, and the namespaces used (in ``{ns}``, ``{ns2}``...
    order; left for the caller to delete)."""
    connector = aiohttp.TCPConnector(ssl=context) if context is not None else None
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(base_url=url, connector=connector, timeout=timeout) as s:
        stamp = int(time.time() * 1000) % 10**7
        namespaces = [
            f"{prefix}-{stamp}-{next(_namespaces)}" for _ in range(max(1, sequence.namespaces))
        ]
        names: dict[str, str] = {}
        for index, ns in enumerate(namespaces):
            await _make_namespace(s, ns, 30.0)
            names["ns" if index == 0 else f"ns{index + 1}"] = ns
        answers: list[Answer] = []
        for index, step in enumerate(sequence.steps):
            if step.method == "WATCH":
                answer = await _watch(s, step, names)
            elif step.until is not None:
                answer = await _poll(s, step, names)
            else:
                answer = await _request(s, step, names)
            answer.step = index
            for key, where in step.save.items():
                value = dig(answer.body, where)
                names[key] = "" if value is None else str(value)
            if step.keep and isinstance(answer.body, dict):
                answer.body = {where: dig(answer.body, where) for where in step.keep}
            if step.record:
                answers.append(answer)
        return answers, namespaces


async def delete_namespaces(url: str, context: ssl.SSLContext | None, names: list[str]) -> None:
    connector = aiohttp.TCPConnector(ssl=context) if context is not None else None
    async with aiohttp.ClientSession(base_url=url, connector=connector) as session:
        for name in names:
            async with session.delete(f"/api/v1/namespaces/{name}"):
                pass
