"""The simulator inside a real KubeSim server, driven over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from kubesim.server import KubeSim
from kubesim.sim.objects import DEPLOYMENT, JOB, POD
from tests.support.sim_objects import FAST_TIMINGS, deployment
from tests.support.waiting import StoreWaiter


@pytest.fixture
async def kubesim(tmp_path: Path) -> AsyncIterator[KubeSim]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"timings": FAST_TIMINGS}))
    server = KubeSim(port=0, kubeconfig=tmp_path / "kubeconfig", rules=rules)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def http(kubesim: KubeSim) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=kubesim.url) as session:
        yield session


async def _get(http: aiohttp.ClientSession, path: str) -> dict[str, Any]:
    async with http.get(path) as resp:
        assert resp.status == 200, await resp.text()
        body: dict[str, Any] = await resp.json()
        return body


async def _create_namespace(http: aiohttp.ClientSession, name: str) -> None:
    async with http.post(
        "/api/v1/namespaces",
        json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    ) as resp:
        assert resp.status == 201, await resp.text()


async def test_deployment_rolls_out_and_logs_stream_over_http(
    kubesim: KubeSim, http: aiohttp.ClientSession
) -> None:
    waiter = StoreWaiter(kubesim.store)
    await _create_namespace(http, "ns")
    body = deployment("web", 2)
    body["spec"]["template"]["metadata"]["annotations"] = {
        "sim.kubesim.io/logs": "starting\nlistening on :80"
    }
    async with http.post(
        "/apis/apps/v1/namespaces/ns/deployments",
        json={"apiVersion": "apps/v1", "kind": "Deployment", **body},
    ) as resp:
        assert resp.status == 201, await resp.text()

    await waiter.until(
        lambda: (
            ((kubesim.store.get(DEPLOYMENT, "ns", "web") or {}).get("status") or {}).get(
                "availableReplicas"
            )
            == 2
        )
    )
    served = await _get(http, "/apis/apps/v1/namespaces/ns/deployments/web")
    assert served["status"]["updatedReplicas"] == 2
    assert {c["type"]: c["status"] for c in served["status"]["conditions"]} == {
        "Available": "True",
        "Progressing": "True",
    }

    pods = await _get(http, "/api/v1/namespaces/ns/pods?labelSelector=app%3Dweb")
    assert len(pods["items"]) == 2
    name = pods["items"][0]["metadata"]["name"]
    assert pods["items"][0]["status"]["phase"] == "Running"

    async with http.get(f"/api/v1/namespaces/ns/pods/{name}/log?tailLines=1") as resp:
        assert resp.status == 200
        assert await resp.text() == "listening on :80\n"
    async with http.get(f"/api/v1/namespaces/ns/pods/{name}/log?timestamps=true") as resp:
        lines = (await resp.text()).splitlines()
        assert [ln.split(" ", 1)[1] for ln in lines] == ["starting", "listening on :80"]
    async with http.get(f"/api/v1/namespaces/ns/pods/{name}/log?container=nope") as resp:
        assert resp.status == 400
        assert (await resp.json())["reason"] == "BadRequest"
    async with http.get("/api/v1/namespaces/ns/pods/missing/log") as resp:
        assert resp.status == 404


async def test_job_completes_and_follow_ends_at_termination_over_http(
    kubesim: KubeSim, http: aiohttp.ClientSession
) -> None:
    waiter = StoreWaiter(kubesim.store)
    await _create_namespace(http, "ns")
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "install", "namespace": "ns"},
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {
                        "sim.kubesim.io/logs": "a\nb\nc",
                        "sim.kubesim.io/run-for": "300ms",
                    }
                },
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "install", "image": "busybox"}],
                },
            }
        },
    }
    async with http.post("/apis/batch/v1/namespaces/ns/jobs", json=job) as resp:
        assert resp.status == 201, await resp.text()

    def running_pod() -> str | None:
        for pod in kubesim.store.list(POD, "ns"):
            if (pod.get("status") or {}).get("phase") == "Running":
                return str(pod["metadata"]["name"])
        return None

    name = await waiter.until(running_pod)
    async with http.get(f"/api/v1/namespaces/ns/pods/{name}/log?follow=true") as resp:
        assert resp.status == 200
        assert await resp.text() == "a\nb\nc\n"  # the response ended: the container terminated
    await waiter.until(
        lambda: any(
            c["type"] == "Complete"
            for c in ((kubesim.store.get(JOB, "ns", "install") or {}).get("status") or {}).get(
                "conditions"
            )
            or []
        )
    )
    served = await _get(http, "/apis/batch/v1/namespaces/ns/jobs/install")
    assert served["status"]["succeeded"] == 1
