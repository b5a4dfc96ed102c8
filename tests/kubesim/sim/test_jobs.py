"""Job success, failure, deadlines and suspension through the real Store."""

from __future__ import annotations

from typing import Any

from kubesim.sim import Simulator
from kubesim.sim.objects import JOB, POD
from kubesim.store import Event, Store
from tests.support.sim_objects import condition, owned_pods, pod_template
from tests.support.waiting import StoreWaiter


def job(
    name: str = "install",
    *,
    annotations: dict[str, str] | None = None,
    restart_policy: str = "Never",
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "template": pod_template(name, annotations=annotations, restart_policy=restart_policy)
    }
    body.update(spec)
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": body}


def _job(store: Store) -> dict[str, Any]:
    found = store.get(JOB, "ns", "install")
    assert found is not None
    return found


def _has(store: Store, ctype: str) -> bool:
    c = condition(store.get(JOB, "ns", "install"), ctype)
    return c is not None and c["status"] == "True"


async def test_job_completes(store: Store, sim: Simulator, waiter: StoreWaiter) -> None:
    store.create(JOB, job(completions=2, parallelism=1))
    await waiter.until(lambda: _has(store, "Complete"))
    j = _job(store)
    status = j["status"]
    assert status["succeeded"] == 2
    assert "active" not in status
    assert "failed" not in status
    assert status["startTime"]
    assert status["completionTime"]
    assert status["uncountedTerminatedPods"] == {}
    assert (status["ready"], status["terminating"]) == (0, 0)
    types = [c["type"] for c in status["conditions"]]
    assert types == ["SuccessCriteriaMet", "Complete"]
    assert condition(j, "Complete")["reason"] == "CompletionsReached"  # type: ignore[index]
    pods = owned_pods(store, j)
    assert len(pods) == 2
    for pod in pods:
        labels = pod["metadata"]["labels"]
        assert labels["batch.kubernetes.io/job-name"] == "install"
        assert labels["controller-uid"] == j["metadata"]["uid"]
        assert pod["metadata"]["name"].startswith("install-")
        assert pod["status"]["phase"] == "Succeeded"


async def test_parallelism_is_respected(store: Store, sim: Simulator, waiter: StoreWaiter) -> None:
    peak = 0

    def watch() -> bool:
        nonlocal peak
        running = sum(
            1 for p in store.list(POD, "ns") if p["status"].get("phase") in {"Pending", "Running"}
        )
        peak = max(peak, running)
        return _has(store, "Complete")

    store.create(JOB, job(completions=4, parallelism=2))
    await waiter.until(watch)
    assert peak == 2
    assert _job(store)["status"]["succeeded"] == 4


async def test_exit_error_fails_job_after_backoff_limit(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    seen: list[list[str]] = []

    def record(event: Event) -> None:
        if event.resource is JOB:
            seen.append(
                [c["type"] for c in (event.obj.get("status") or {}).get("conditions") or []]
            )

    store.add_listener(record)
    store.create(
        JOB,
        job(
            annotations={"sim.kubesim.io/fail": "ExitError", "sim.kubesim.io/run-for": "20ms"},
            backoffLimit=2,
        ),
    )
    await waiter.until(lambda: _has(store, "Failed"), limit=10)
    j = _job(store)
    failed = condition(j, "Failed")
    assert failed is not None
    assert (failed["reason"], failed["message"]) == (
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
    )
    assert j["status"]["failed"] == 3
    assert "active" not in j["status"]
    assert ["FailureTarget"] in seen  # FailureTarget is written before Failed
    assert [c["type"] for c in j["status"]["conditions"]] == ["FailureTarget", "Failed"]
    assert len(owned_pods(store, j)) == 3
    assert all(p["status"]["phase"] == "Failed" for p in owned_pods(store, j))


async def test_on_failure_restarts_count_towards_backoff_limit(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(
        JOB,
        job(
            annotations={"sim.kubesim.io/fail": "ExitError", "sim.kubesim.io/run-for": "20ms"},
            restart_policy="OnFailure",
            backoffLimit=1,
        ),
    )
    await waiter.until(lambda: _has(store, "Failed"), limit=10)
    assert condition(_job(store), "Failed")["reason"] == "BackoffLimitExceeded"  # type: ignore[index]
    assert not store.list(POD, "ns")  # the restarting pod was deleted


async def test_active_deadline_exceeded(store: Store, sim: Simulator, waiter: StoreWaiter) -> None:
    store.create(JOB, job(annotations={"sim.kubesim.io/run-for": "1h"}, activeDeadlineSeconds=1))
    await waiter.until(lambda: _has(store, "Failed"), limit=5)
    failed = condition(_job(store), "Failed")
    assert failed is not None
    assert failed["reason"] == "DeadlineExceeded"
    assert not store.list(POD, "ns")


async def test_suspended_job_creates_no_pods_until_resumed(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(JOB, job(suspend=True))
    await waiter.until(lambda: _has(store, "Suspended"))
    assert "startTime" not in _job(store)["status"]
    assert store.list(POD, "ns") == []
    store.mutate(JOB, "ns", "install", lambda j: j["spec"].__setitem__("suspend", False))
    await waiter.until(lambda: _has(store, "Complete"))
    suspended = condition(_job(store), "Suspended")
    assert suspended is not None
    assert (suspended["status"], suspended["reason"]) == ("False", "JobResumed")


async def test_template_without_restart_policy_runs_to_completion(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    body = job()
    del body["spec"]["template"]["spec"]["restartPolicy"]
    store.create(JOB, body)
    await waiter.until(lambda: _has(store, "Complete"))
    assert store.list(POD, "ns")[0]["spec"]["restartPolicy"] == "Never"
