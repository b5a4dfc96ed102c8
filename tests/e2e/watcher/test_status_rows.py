"""Rows of status-spec.md end to end, on both clusters (`tests.support.clusters`): a live Catalyst
creates the mediawiki environment and its watcher's statuses are checked against what the
cluster's controllers do (on realkube: the real deployment, replicaset, statefulset and job
controllers, the scheduler, and kwok's pod and volume stages).

- #1/#31/#40/#48: running needs the Deployment, the database StatefulSet (its pod and its
  claim), the code PVC Bound and the install Job Complete; ``?latestStatus=1`` shows each.
- #32 and CREATE_TIMEOUT: pods that never get ready keep it ``starting`` until the creation
  timeout fails it as a creation failure, with the expiry.
- #4 (in steady context): a rollout whose new pods never get ready exceeds the Deployment's
  progress deadline (ProgressDeadlineExceeded from the controller) and fails it at once as
  a runtime failure, without expiry.

The failure kinds (image pull, crash loop, failing install Job, runtime, rebuild) are in
``test_failure_kinds``.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from catalyst.store.database import Database
from catalyst.store.environments import EnvironmentRepository
from tests.support.clusters import BOTH_CLUSTERS_FOR_CATALYST
from tests.support.live_api import (
    create_environment,
    latest_status,
    wait_for_status,
)
from tests.support.live_cluster import (
    assert_consistent_history,
    describe,
    history,
    statuses_path,
)
from tests.support.waiting import eventually

EXPIRY = 3600.0
NEVER_READY = {"podAnnotations": {"sim.kubesim.io/ready-after": "1h"}}


@BOTH_CLUSTERS_FOR_CATALYST
async def test_running_needs_every_workload_and_claim_and_latest_status_shows_each(
    api: httpx.AsyncClient, kube: httpx.AsyncClient
) -> None:
    env_id = await create_environment(api, "whole")
    await wait_for_status(api, env_id, "running")
    latest = await latest_status(api, env_id)
    assert latest["status"] == "running", latest
    by_kind: dict[str, list[dict[str, str]]] = {}
    for resource in latest["resources"]:
        by_kind.setdefault(resource["kind"], []).append(resource)
    for kind in ("Deployment", "StatefulSet", "Job", "PersistentVolumeClaim", "Service"):
        assert kind in by_kind, latest["resources"]
    assert all(r["status"] == "Current" for r in latest["resources"]), latest["resources"]

    # What the controllers show: the database's own claim (from its volumeClaimTemplate)
    # and the code claim are Bound, the StatefulSet's pod ready, the Job complete.
    namespace = f"env-{env_id}"
    claims = (await kube.get(f"/api/v1/namespaces/{namespace}/persistentvolumeclaims")).json()
    phases = {c["metadata"]["name"]: c["status"].get("phase") for c in claims["items"]}
    assert len(phases) == 2, phases
    assert set(phases.values()) == {"Bound"}, phases
    (statefulset,) = (await kube.get(f"/apis/apps/v1/namespaces/{namespace}/statefulsets")).json()[
        "items"
    ]
    assert statefulset["status"].get("readyReplicas") == 1, statefulset["status"]
    (job,) = (await kube.get(f"/apis/batch/v1/namespaces/{namespace}/jobs")).json()["items"]
    conditions = {c["type"]: c["status"] for c in job["status"].get("conditions", [])}
    assert conditions.get("Complete") == "True", job["status"]


@BOTH_CLUSTERS_FOR_CATALYST
@pytest.mark.parametrize(
    "overrides", [{"status_create_timeout": 10.0, "status_expiry": EXPIRY}], ids=["timeout"]
)
async def test_pods_that_never_get_ready_fail_the_creation_at_its_timeout(
    api: httpx.AsyncClient, database: Database
) -> None:
    env_id = await create_environment(api, "unready", **NEVER_READY)
    failed = await wait_for_status(api, env_id, "failed")
    assert failed["failureKind"] == "creation", failed
    assert failed["statusReason"] == "CreationTimeout", failed
    record = await EnvironmentRepository(database).get(env_id)
    assert record is not None
    assert record.failed_at is not None
    assert record.expires_at == record.failed_at + timedelta(seconds=EXPIRY), record
    changes = await history(database, env_id)
    assert_consistent_history(changes)
    assert statuses_path(changes) == ["starting", "failed"], describe(changes)
    # While it waited, what kept it starting was the workloads' readiness, not the Job.
    waiting = " ".join(c.message for c in changes if c.to_status == "starting")
    assert "Deployment/" in waiting or "StatefulSet/" in waiting, describe(changes)


@BOTH_CLUSTERS_FOR_CATALYST
@pytest.mark.parametrize("overrides", [{"status_expiry": EXPIRY}])
async def test_a_rollout_past_its_progress_deadline_fails_a_running_environment(
    api: httpx.AsyncClient, kube: httpx.AsyncClient, database: Database
) -> None:
    env_id = await create_environment(api, "rollout")
    await wait_for_status(api, env_id, "running")
    namespace = f"env-{env_id}"
    (deployment,) = (await kube.get(f"/apis/apps/v1/namespaces/{namespace}/deployments")).json()[
        "items"
    ]
    name = deployment["metadata"]["name"]
    # A new template whose pods never get ready, and a deadline of 2 s for the rollout.
    patch = {
        "spec": {
            "progressDeadlineSeconds": 2,
            "template": {"metadata": {"annotations": NEVER_READY["podAnnotations"]}},
        }
    }
    response = await kube.patch(
        f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
        json=patch,
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text

    async def deadline_exceeded() -> bool:
        live = (await kube.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")).json()
        return any(
            c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded"
            for c in live["status"].get("conditions", [])
        )

    await eventually(deadline_exceeded, "the controller to report ProgressDeadlineExceeded")
    failed = await wait_for_status(api, env_id, "failed", within=10.0)
    assert failed["failureKind"] == "runtime", failed
    assert failed["expiresAt"] is None, failed
    assert "ProgressDeadlineExceeded" in (failed["statusReason"] + failed["statusMessage"])
    changes = await history(database, env_id)
    assert_consistent_history(changes)
    # The old pod stayed available during the rollout: running until the deadline.
    assert statuses_path(changes) == ["starting", "running", "failed"], describe(changes)
