"""Helm hooks and chart structure through the real service path, on kubesim.

`catalyst serve`'s composition (API, operation runner, Helm SDK, deployer, watcher) runs
against its embedded kubesim, with a charts directory holding the ``hooked`` chart (hooks of
several weights, kinds and delete policies, a test hook, a subchart as a folder and one as
``.tgz``) and a packaged chart (``metrics-2.1.0.tgz``). Every change kubesim commits is
recorded by a store listener, so the order in which Catalyst created and deleted objects is
read from the cluster itself, not from Catalyst's logs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst.store.environments import EnvironmentRepository
from kubesim.store import Event
from tests.support.chart_packages import CHARTS, hooked_chart, package_chart
from tests.support.live import LiveCatalyst, live_catalyst
from tests.support.live_api import latest_status, wait_for_status
from tests.support.live_cluster import FAST_WATCHER
from tests.support.waiting import eventually

WAIT = 60.0
REVISION = "catalyst.io/revision"


@dataclass
class ClusterLog:
    """Every ADDED and DELETED of an object Catalyst applied (it carries a revision label),
    in commit order: ``(type, kind, name, revision, uid)``."""

    changes: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    def __call__(self, event: Event) -> None:
        metadata = event.obj.get("metadata") or {}
        revision = (metadata.get("labels") or {}).get(REVISION)
        if event.type in ("ADDED", "DELETED") and revision is not None:
            self.changes.append(
                (
                    event.type,
                    str(event.obj.get("kind")),
                    str(metadata.get("name")),
                    str(revision),
                    str(metadata.get("uid")),
                )
            )

    def names(self, change: str, release: str, revision: str | None = None) -> list[str]:
        return [
            name.removeprefix(f"{release}-")
            for kind, _, name, rev, _ in [(c[0], c[1], c[2], c[3], c[4]) for c in self.changes]
            if kind == change and name.startswith(f"{release}-") and rev == (revision or rev)
        ]

    def uid(self, name: str, revision: str) -> str:
        return next(c[4] for c in self.changes if c[0] == "ADDED" and c[2:4] == (name, revision))


@dataclass
class Setup:
    live: LiveCatalyst
    api: httpx.AsyncClient
    log: ClusterLog


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    charts_dir = tmp_path / "charts"
    hooked_chart(charts_dir)
    package_chart(CHARTS / "hooked-packed-sub", charts_dir)
    async with live_catalyst(
        tmp_path / "data", charts_dir=str(charts_dir), hook_timeout=30.0, **FAST_WATCHER
    ) as live:
        assert live.catalyst.kubesim is not None
        log = ClusterLog()
        live.catalyst.kubesim.store.add_listener(log)
        headers = {"Authorization": f"ApiToken {live.admin_token}"}
        async with httpx.AsyncClient(base_url=live.url, headers=headers, timeout=30) as api:
            yield Setup(live, api, log)


async def _create(api: httpx.AsyncClient, name: str, chart: str, **values: Any) -> int:
    body = {"name": name, "chartName": chart, "values": values}
    response = await api.post("/api/environments", json=body)
    assert response.status_code == 201, response.text
    env_id: int = response.json()["id"]
    return env_id


def _live_names(setup: Setup, namespace: str) -> set[str]:
    assert setup.live.catalyst.kubesim is not None
    store = setup.live.catalyst.kubesim.store
    return {
        str(obj["metadata"]["name"])
        for rt in list(store._objects)  # a test reads the emulator's store
        for obj in store.list(rt, namespace)
        if REVISION in (obj["metadata"].get("labels") or {})
    }


async def test_hooks_run_in_helm_order_on_create_and_rebuild(setup: Setup) -> None:
    api, log = setup.api, setup.log
    env_id = await _create(api, "hooks", "hooked")
    await wait_for_status(api, env_id, "running", WAIT)

    pre = ["hook-account", "hook-settings", "seed", "migrate"]  # weight, then kind order
    main = ["cache", "metrics", "app", "web"]  # both subcharts rendered
    post = ["installed", "notify"]
    assert log.names("ADDED", "hooks", "1") == pre + main + post
    # hook-succeeded: deleted when every hook of the phase succeeded, before what follows.
    assert log.names("DELETED", "hooks") == ["seed", "hook-account", "notify"]
    order = [(c[0], c[2].removeprefix("hooks-")) for c in log.changes]
    assert order.index(("DELETED", "hook-account")) < order.index(("ADDED", "cache"))
    assert _live_names(setup, f"env-{env_id}") == {
        "hooks-hook-settings",
        "hooks-migrate",
        "hooks-cache",
        "hooks-metrics",
        "hooks-app",
        "hooks-web",
        "hooks-installed",
    }
    assert (await latest_status(api, env_id))["status"] == "running"

    rebuilt = await api.post(f"/api/environments/{env_id}/refresh", json={"values": {}})
    assert rebuilt.status_code == 202, rebuilt.text
    await wait_for_status(api, env_id, "running", WAIT)
    repo = EnvironmentRepository(setup.live.catalyst.database)  # type: ignore[arg-type]
    stored = await repo.get(env_id)
    assert stored is not None
    assert stored.applied_revision == 2

    # A rebuild is Helm's upgrade: the pre-upgrade-only hook runs; main objects are updated
    # in place; before-hook-creation replaced the hooks that stayed from revision 1.
    assert log.names("ADDED", "hooks", "2") == [
        "hook-account",
        "hook-settings",
        "seed",
        "migrate",
        "upgrade-only",
        "installed",
        "notify",
    ]
    assert log.uid("hooks-migrate", "2") != log.uid("hooks-migrate", "1")
    # Old copies deleted before their hooks are applied again; hook-succeeded hooks deleted
    # in reverse once their phase succeeded.
    assert log.names("DELETED", "hooks")[3:] == [
        "hook-settings",
        "migrate",
        "upgrade-only",
        "seed",
        "hook-account",
        "installed",
        "notify",
    ]
    assert "upgrade-only" not in _live_names(setup, f"env-{env_id}")
    # The test hook is never applied, by create or rebuild.
    assert not [c for c in log.changes if c[2] == "hooks-test-connection"]
    assert (await latest_status(api, env_id))["status"] == "running"


async def test_a_failing_pre_install_hook_fails_creation_with_expiry(setup: Setup) -> None:
    api, log = setup.api, setup.log
    env_id = await _create(api, "broken", "hooked", failHook=True)
    failed = await wait_for_status(api, env_id, "failed", WAIT)

    assert failed["failureKind"] == "creation"
    assert failed["statusReason"] == "ApplyFailed"
    assert "pre-install hook Job" in failed["statusMessage"]
    assert "broken-migrate" in failed["statusMessage"]
    assert "failed" in failed["statusMessage"]
    repo = EnvironmentRepository(setup.live.catalyst.database)  # type: ignore[arg-type]
    stored = await repo.get(env_id)
    assert stored is not None
    assert stored.failed_at is not None
    assert stored.expires_at == stored.failed_at + timedelta(days=3)
    # Nothing after the failed hook was applied; hook-failed deleted it.
    assert log.names("ADDED", "broken") == ["hook-account", "hook-settings", "seed", "migrate"]
    assert log.names("DELETED", "broken") == ["migrate"]


async def test_packaged_charts_are_listed_with_their_version_and_run(setup: Setup) -> None:
    listed = await setup.api.get("/api/charts")
    assert listed.status_code == 200, listed.text
    versions = {chart["name"]: chart["version"] for chart in listed.json()}
    assert versions == {"hooked": "0.3.0", "metrics": "2.1.0"}

    env_id = await _create(setup.api, "packed", "metrics")

    # Judged from the cluster (`?latestStatus=1`): an environment of ConfigMaps alone is
    # not always re-evaluated by the watcher once its informer starts (reported apart).
    async def running() -> bool:
        return (await latest_status(setup.api, env_id))["status"] == "running"

    await eventually(running, f"environment {env_id} to be running", within=WAIT)
    assert _live_names(setup, f"env-{env_id}") == {"packed-metrics"}
