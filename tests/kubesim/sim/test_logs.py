"""ContainerLogs: plain, follow, tail, timestamps, since and the kubelet's errors."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubesim.errors import ApiError
from kubesim.sim import Simulator
from kubesim.sim.objects import POD
from kubesim.store import Store
from tests.support.waiting import StoreWaiter

LOGS = "one\ntwo\nthree\nfour"


def pod(
    name: str, *, annotations: dict[str, str], restart_policy: str = "Never", containers: int = 1
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns", "annotations": annotations},
        "spec": {
            "restartPolicy": restart_policy,
            "containers": [
                {"name": f"c{i}" if containers > 1 else "main", "image": "busybox"}
                for i in range(containers)
            ],
        },
    }


async def collect(sim: Simulator, name: str, container: str | None = None, **kw: Any) -> list[str]:
    options: dict[str, Any] = {
        "follow": False,
        "timestamps": False,
        "tail_lines": None,
        "since_time": None,
    }
    options.update(kw)
    stream = sim.logs.stream("ns", name, container, **options)
    chunks = [chunk async for chunk in stream]
    return b"".join(chunks).decode().splitlines()


def phase(store: Store, name: str) -> str | None:
    p = store.get(POD, "ns", name)
    return None if p is None else p["status"].get("phase")


async def test_logs_of_a_finished_container(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(POD, pod("p", annotations={"sim.kubesim.io/logs": LOGS}))
    await waiter.until(lambda: phase(store, "p") == "Succeeded")
    assert await collect(sim, "p") == ["one", "two", "three", "four"]
    assert await collect(sim, "p", tail_lines=2) == ["three", "four"]
    assert await collect(sim, "p", tail_lines=0) == []


async def test_timestamps_prefix_rfc3339_nano(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(POD, pod("p", annotations={"sim.kubesim.io/logs": LOGS}))
    await waiter.until(lambda: phase(store, "p") == "Succeeded")
    lines = await collect(sim, "p", timestamps=True)
    assert len(lines) == 4
    stamps = []
    for line in lines:
        m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (\w+)", line)
        assert m is not None, line
        stamps.append(datetime.fromisoformat(m.group(1)[:26] + "+00:00"))
    assert stamps == sorted(stamps)
    # since_time drops the earlier lines
    since = stamps[2].astimezone(UTC)
    assert await collect(sim, "p", since_time=since) == ["three", "four"]
    assert await collect(sim, "p", since_time=since + timedelta(hours=1)) == []


async def test_follow_streams_lines_as_they_appear_and_ends_at_termination(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(
        POD, pod("p", annotations={"sim.kubesim.io/logs": LOGS, "sim.kubesim.io/run-for": "400ms"})
    )
    await waiter.until(lambda: phase(store, "p") == "Running")
    stream = sim.logs.stream(
        "ns", "p", None, follow=True, timestamps=False, tail_lines=None, since_time=None
    )
    received: list[str] = []
    phases_seen: list[str | None] = []

    async def read() -> None:
        async for chunk in stream:
            received.append(chunk.decode().strip())
            phases_seen.append(phase(store, "p"))

    await asyncio.wait_for(read(), timeout=5)
    assert received == ["one", "two", "three", "four"]
    assert phases_seen[0] == "Running"  # the first line came while the container ran
    # the stream ended because the container terminated
    await waiter.until(lambda: phase(store, "p") == "Succeeded")


async def test_follow_of_long_running_container_ends_when_pod_is_deleted(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(
        POD, pod("p", annotations={"sim.kubesim.io/logs": "ready"}, restart_policy="Always")
    )
    await waiter.until(lambda: phase(store, "p") == "Running")
    stream = sim.logs.stream(
        "ns", "p", None, follow=True, timestamps=False, tail_lines=None, since_time=None
    )
    first = await asyncio.wait_for(stream.__anext__(), timeout=5)
    assert first == b"ready\n"
    store.delete(POD, "ns", "p")
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(stream.__anext__(), timeout=5)


async def test_follow_ends_on_deletion_even_when_every_line_was_already_out(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    # Ready comes after the only line is due, so the stream starts with nothing pending:
    # the deletion right after the first line must still end it (it once went unheard).
    store.create(
        POD, pod("p", annotations={"sim.kubesim.io/logs": "ready"}, restart_policy="Always")
    )

    def ready() -> bool:
        obj = store.get(POD, "ns", "p") or {}
        conditions = (obj.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    await waiter.until(ready)
    stream = sim.logs.stream(
        "ns", "p", None, follow=True, timestamps=False, tail_lines=None, since_time=None
    )
    assert await asyncio.wait_for(stream.__anext__(), timeout=5) == b"ready\n"
    store.delete(POD, "ns", "p")
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(stream.__anext__(), timeout=5)


async def test_default_log_line_without_configured_logs(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(POD, pod("p", annotations={}))
    await waiter.until(lambda: phase(store, "p") == "Succeeded")
    assert await collect(sim, "p") == ["kubesim: container main started"]


async def test_errors_like_the_kubelet(store: Store, sim: Simulator, waiter: StoreWaiter) -> None:
    with pytest.raises(ApiError) as missing:
        await collect(sim, "nope")
    assert missing.value.code == 404

    store.create(POD, pod("multi", annotations={}, containers=2))
    await waiter.until(lambda: phase(store, "multi") == "Running")
    with pytest.raises(ApiError) as several:
        await collect(sim, "multi")
    assert several.value.code == 400
    assert (
        "a container name must be specified for pod multi, choose one of: [c0 c1]"
        in several.value.message
    )
    with pytest.raises(ApiError) as unknown:
        await collect(sim, "multi", "c9")
    assert unknown.value.code == 400
    assert await collect(sim, "multi", "c1") == ["kubesim: container c1 started"]

    store.create(POD, pod("stuck", annotations={"sim.kubesim.io/fail": "ImagePullBackOff"}))
    await waiter.until(
        lambda: (store.get(POD, "ns", "stuck") or {}).get("status", {}).get("containerStatuses")
    )
    with pytest.raises(ApiError) as waiting:
        await collect(sim, "stuck")
    assert waiting.value.code == 400
    assert re.match(
        r'container "main" in pod "stuck" is waiting to start: \w+', waiting.value.message
    )
