"""Issue 4, Faults: closed watches, compaction (410), throttling (429) and a 60 s pause of
the API, each while an environment changes. After each fault the listed status (a pure
database read) must equal what the cluster shows within 5 s, agree with what
``?latestStatus=1`` computes from the cluster, and the history must hold each transition
exactly once. A second environment that stays running throughout is the control for false
transitions (no running → starting → running blip may be recorded for it).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from catalyst.store.database import Database
from kubesim.resources import REGISTRY
from kubesim.server import KubeSim
from tests.support.live_api import (
    FAIL_ANNOTATION,
    listed,
    make_pods_fail,
    metric_total,
)
from tests.support.live_cluster import (
    BROKEN,
    check_after_recovery,
    converges_to,
    failing,
    two_running,
    wait_quiet,
)
from tests.support.waiting import eventually

PAUSE_SECONDS = 60.0


def fail_in_store(kubesim: KubeSim, env_id: int) -> None:
    """Make the environment's workloads fail (BROKEN) by writing the store directly (works while
    the API is paused; the simulator's controllers act on the store, not over HTTP)."""
    namespace = f"env-{env_id}"
    for plural in ("deployments", "statefulsets"):
        resource = REGISTRY.get("apps", "v1", plural)
        assert resource is not None
        objects = kubesim.store.list(resource, namespace)
        assert objects, f"no {plural} in {namespace}"
        for obj in objects:

            def annotate(copy: dict[str, Any]) -> None:
                template = copy["spec"]["template"].setdefault("metadata", {})
                template.setdefault("annotations", {})[FAIL_ANNOTATION] = BROKEN

            kubesim.store.mutate(resource, namespace, obj["metadata"]["name"], annotate)


async def test_closed_watches_lose_no_change(
    api: httpx.AsyncClient, kube: httpx.AsyncClient, kubesim: KubeSim, database: Database
) -> None:
    target, control = await two_running(api)
    restarts = await metric_total(api, "catalyst_watch_restarts_total")

    closed = kubesim.faults.close_watches()
    await make_pods_fail(kube, target, BROKEN)
    kubesim.faults.close_watches()  # and again while the change is under way

    assert closed > 0
    await converges_to(api, kube, target, status="failed", failure_kind="runtime")
    assert await metric_total(api, "catalyst_watch_restarts_total") > restarts
    await check_after_recovery(api, database, target, control)


async def test_compacted_history_relists_and_sees_the_change_made_in_the_gap(
    api: httpx.AsyncClient, kube: httpx.AsyncClient, kubesim: KubeSim, database: Database
) -> None:
    target, control = await two_running(api)
    relists = await metric_total(api, "catalyst_informer_relists_total")

    kubesim.faults.pause()  # watches end; reconnects get 503 while the gap lasts
    fail_in_store(kubesim, target)

    async def failed_in_store() -> bool:
        return failing_in_store(kubesim, target)

    await eventually(failed_in_store, "the simulator to replace the pods by failing ones")
    kubesim.faults.compact()  # the watcher's resourceVersion is now too old: 410
    kubesim.faults.resume()

    await converges_to(api, kube, target, status="failed", failure_kind="runtime")
    assert await metric_total(api, "catalyst_informer_relists_total") > relists
    await check_after_recovery(api, database, target, control)


def failing_in_store(kubesim: KubeSim, env_id: int) -> bool:
    """The store (readable while the API is paused) shows a failing pod."""
    resource = REGISTRY.get("", "v1", "pods")
    assert resource is not None
    return any(failing(pod) for pod in kubesim.store.list(resource, f"env-{env_id}"))


async def test_throttling_delays_but_does_not_lose_changes(
    api: httpx.AsyncClient, kube: httpx.AsyncClient, kubesim: KubeSim, database: Database
) -> None:
    target, control = await two_running(api)
    served_429 = kubesim.faults.throttled

    # 2 requests/s, burst 1: the informers' relists after the compaction (and the Lease
    # renewals) meet 429s while the change happens; watches are never throttled (APF).
    # The client retries 429s with Retry-After itself, so the reflector's own 429 counter
    # only moves when those retries run out; kubesim's counter shows the 429s served.
    kubesim.faults.throttle(2.0, 1)
    fail_in_store(kubesim, target)  # not over HTTP: this test's own requests would get 429s
    kubesim.faults.compact()
    kubesim.faults.close_watches()

    async def throttled_a_while() -> bool:
        return kubesim.faults.throttled >= served_429 + 10

    await eventually(throttled_a_while, "kubesim to answer 429 ten times")
    kubesim.faults.unthrottle()

    await converges_to(api, kube, target, status="failed", failure_kind="runtime")
    await check_after_recovery(api, database, target, control)


@pytest.mark.parametrize("overrides", [{"status_stale_timeout": 5.0}])
async def test_a_60_second_pause_serves_the_last_statuses_then_converges(
    api: httpx.AsyncClient, kube: httpx.AsyncClient, kubesim: KubeSim, database: Database
) -> None:
    target, control = await two_running(api)
    loop = asyncio.get_running_loop()

    kubesim.faults.pause()
    paused_until = loop.time() + PAUSE_SECONDS
    fail_in_store(kubesim, target)

    # The API keeps answering from the database with the last known statuses...
    for env_id in (target, control):
        assert (await listed(api, env_id))["status"] == "running"

    # ...and once STALE (5 s here) has passed, it says they are stale.
    async def marked_stale() -> bool:
        return all([(await listed(api, e))["stale"] for e in (target, control)])

    await eventually(marked_stale, "the listed statuses to be marked stale", within=30.0)
    for env_id in (target, control):
        assert (await listed(api, env_id))["status"] == "running"

    await wait_quiet(paused_until)  # the outage itself lasts 60 s
    for env_id in (target, control):
        assert (await listed(api, env_id))["status"] == "running"
    kubesim.faults.resume()

    await converges_to(api, kube, target, status="failed", failure_kind="runtime")

    async def fresh() -> bool:
        return not any([(await listed(api, e))["stale"] for e in (target, control)])

    await eventually(fresh, "the stale flag to clear", within=5.0)
    await check_after_recovery(api, database, target, control)
