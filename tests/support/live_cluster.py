"""Building blocks of the watcher's end-to-end tests (``tests/e2e/watcher``): fast watcher
settings for a live Catalyst, the cluster's view of a crash, and the status history checks.

"What the cluster shows" is read from kubesim over its HTTP API, never through Catalyst,
so it is an independent expectation: a pod of the environment whose container waits with
InvalidImageName (failed at once by the rules), or in CrashLoopBackOff after at least one
restart (failed with ``status_crash_restarts=1``), is what the rules must turn into
``failed``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx

from catalyst.store.database import Database
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.records import StatusChangeRecord
from tests.support.live_api import WAIT, create_environment, latest_status, listed, wait_for_status
from tests.support.waiting import eventually

RECOVERY_LIMIT = 5.0
# Short watcher timings; the Lease timings are fast too, so a leader that stepped down
# during an outage leads again soon after it.
FAST_WATCHER: dict[str, Any] = {
    "watcher_poll_seconds": 0.2,
    "watcher_heartbeat_seconds": 0.2,
    "lease_duration": 3.0,
    "lease_renew_deadline": 2.0,
    "lease_retry_period": 0.3,
    "status_crash_restarts": 1,
}


async def pods(kube: httpx.AsyncClient, namespace: str) -> list[dict[str, Any]]:
    response = await kube.get(f"/api/v1/namespaces/{namespace}/pods")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def failing(pod: dict[str, Any]) -> bool:
    """A container of ``pod`` shows a failure the status rules act on."""
    for container in (pod.get("status") or {}).get("containerStatuses") or []:
        reason = ((container.get("state") or {}).get("waiting") or {}).get("reason")
        if reason == "InvalidImageName":
            return True
        if reason == "CrashLoopBackOff" and container.get("restartCount", 0) >= 1:
            return True
    return False


async def cluster_shows_failure(kube: httpx.AsyncClient, env_id: int) -> bool:
    return any(failing(pod) for pod in await pods(kube, f"env-{env_id}"))


async def converges_to(
    api: httpx.AsyncClient,
    kube: httpx.AsyncClient,
    env_id: int,
    *,
    status: str,
    failure_kind: str | None,
    cluster_within: float = WAIT,
) -> float:
    """Once the cluster shows the failure (checked from now on, for up to ``cluster_within``
    seconds), the listed status must match within RECOVERY_LIMIT seconds. Returns the lag
    measured from that moment."""
    await eventually(
        lambda: cluster_shows_failure(kube, env_id),
        "the cluster to show the failure",
        within=cluster_within,
    )
    loop = asyncio.get_running_loop()
    start = loop.time()
    seen: dict[str, Any] = {}

    async def listed_matches() -> bool:
        response = await api.get("/api/environments")
        assert response.status_code == 200
        seen.update({e["id"]: e for e in response.json()}.get(env_id) or {})
        return seen.get("status") == status and seen.get("failureKind") == failure_kind

    await eventually(
        listed_matches, f"{env_id} listed as {status}", within=RECOVERY_LIMIT, last=lambda: seen
    )
    return loop.time() - start


async def history(database: Database, env_id: int) -> list[StatusChangeRecord]:
    return await EnvironmentRepository(database).list_status_changes(env_id)


def assert_consistent_history(changes: Sequence[StatusChangeRecord]) -> None:
    """Each row starts where the previous ended and changes something (no duplicates)."""
    previous: StatusChangeRecord | None = None
    for change in changes:
        if previous is not None:
            assert change.from_status == previous.to_status, describe(changes)
            assert (change.to_status, change.reason, change.failure_kind) != (
                previous.to_status,
                previous.reason,
                previous.failure_kind,
            ), f"duplicate transition recorded:\n{describe(changes)}"
        previous = change


def describe(changes: Sequence[StatusChangeRecord]) -> str:
    """One line per change, for assertion messages."""
    return "\n".join(
        f"{c.occurred_at:%H:%M:%S.%f} {c.from_status}->{c.to_status} "
        f"[{c.failure_kind}] {c.reason} ({c.source}): {c.message[:80]}"
        for c in changes
    )


def statuses_path(changes: Sequence[StatusChangeRecord]) -> list[str]:
    """The statuses in order, from the creation row on: ['starting', 'running', 'failed'].
    Rows that change only the reason within one status (starting: ApplyPending, then
    JobRunning) are one step here."""
    path: list[str] = []
    for change in changes:
        if not path or path[-1] != change.to_status:
            path.append(change.to_status)
    return path


async def wait_quiet(loop_time: float) -> None:
    """Yield to the loop until ``loop_time`` (used only for the fault's own duration)."""
    loop = asyncio.get_running_loop()
    remaining = loop_time - loop.time()
    if remaining > 0:
        await asyncio.sleep(remaining)


# Fails at once and stays failed; a crash loop would also work but, between its restarts,
# currently flaps failed → starting → failed (see test_failure_kinds), which is not what
# these tests are about.
BROKEN = "InvalidImageName"


async def two_running(api: httpx.AsyncClient) -> tuple[int, int]:
    """The environment the test breaks, and a control that stays running."""
    target = await create_environment(api, "target")
    control = await create_environment(api, "control")
    await wait_for_status(api, target, "running")
    await wait_for_status(api, control, "running")
    return target, control


async def check_after_recovery(
    api: httpx.AsyncClient, database: Database, target: int, control: int
) -> None:
    """The listed statuses equal the cluster's now, and the history is exact."""
    for env_id in (target, control):
        stored = await listed(api, env_id)
        fresh = await latest_status(api, env_id)
        assert (stored["status"], stored["failureKind"]) == (
            fresh["status"],
            fresh["failureKind"],
        ), (stored, fresh)
    target_history = await history(database, target)
    assert_consistent_history(target_history)
    assert statuses_path(target_history) == ["starting", "running", "failed"], describe(
        target_history
    )
    assert target_history[-1].source == "watcher", describe(target_history)
    control_history = await history(database, control)
    assert statuses_path(control_history) == ["starting", "running"], describe(control_history)
