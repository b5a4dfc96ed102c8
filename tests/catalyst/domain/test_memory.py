"""The status memory survives the store's JSON column unchanged."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

from catalyst.domain import (
    ContainerMemory,
    EnvironmentMemory,
    PodMemory,
    ResourceMemory,
)
from tests.support.factories import (
    NOW,
    HealthyEnvironment,
    Session,
    container,
    not_ready_deployment,
    pod,
)


def full_memory() -> EnvironmentMemory:
    return EnvironmentMemory(
        revision=3,
        lifecycle="rebuilding",
        lifecycle_since=NOW,
        not_current_since=NOW - timedelta(seconds=5),
        resources={
            "apps/v1|Deployment|env-1|web": ResourceMemory(
                seen=True,
                completed=False,
                missing_since=None,
                terminating_since=NOW,
                last_state="InProgress",
                pods={
                    "uid-1": PodMemory(
                        unschedulable_since=NOW,
                        containers={
                            "init:migrate": ContainerMemory("ImagePull", NOW, 2, None),
                            "main": ContainerMemory("CrashLoopBackOff", NOW, 7, NOW),
                        },
                    )
                },
            ),
            "batch/v1|Job|env-1|install": ResourceMemory(seen=True, completed=True),
        },
    )


def test_round_trip_through_json_text() -> None:
    memory = full_memory()
    text = json.dumps(memory.to_json())
    assert EnvironmentMemory.from_json(json.loads(text)) == memory


def test_empty_and_missing_memory_read_as_new() -> None:
    assert EnvironmentMemory.from_json(None) == EnvironmentMemory()
    assert EnvironmentMemory.from_json({}) == EnvironmentMemory()


def test_unknown_keys_are_ignored_and_naive_datetimes_are_utc() -> None:
    data = {"future_field": 1, "lifecycle_since": "2026-11-25T10:00:00", "resources": {}}
    memory = EnvironmentMemory.from_json(data)
    assert memory.lifecycle_since == NOW
    assert memory.lifecycle_since.tzinfo is UTC


def test_shifted_moves_every_clock() -> None:
    shifted = full_memory().shifted(timedelta(hours=1))
    hour = timedelta(hours=1)
    assert shifted.lifecycle_since == NOW + hour
    assert shifted.not_current_since == NOW - timedelta(seconds=5) + hour
    web = shifted.resources["apps/v1|Deployment|env-1|web"]
    assert web.terminating_since == NOW + hour
    assert web.pods["uid-1"].unschedulable_since == NOW + hour
    assert web.pods["uid-1"].containers["main"].crashloop_since == NOW + hour
    assert web.pods["uid-1"].containers["main"].restart_baseline == 7


def test_memory_from_a_real_evaluation_round_trips_and_keeps_working() -> None:
    session = Session("S")
    env = HealthyEnvironment()
    env.set_deployment(not_ready_deployment("web"))
    env.set_web_pod(
        pod("web-1", None, ready=False, containers=[container(ready=False, waiting="ErrImagePull")])
    )
    session.step(env, NOW)
    session.memory = EnvironmentMemory.from_json(json.loads(json.dumps(session.memory.to_json())))
    session.step(env, NOW + timedelta(minutes=5))
    assert session.state.reason == "ErrImagePull"


def test_stale_period_freezes_the_rule_clocks() -> None:
    session = Session("S")
    env = HealthyEnvironment()
    env.set_deployment(not_ready_deployment("web"))
    env.set_web_pod(
        pod("web-1", None, ready=False, containers=[container(ready=False, waiting="ErrImagePull")])
    )
    session.step(env, NOW)
    # Ten minutes of stale data: the watcher shifts the memory when data is fresh again.
    session.memory = session.memory.shifted(timedelta(minutes=10))
    session.step(env, NOW + timedelta(minutes=12))
    assert session.status() == "starting"
    session.step(env, NOW + timedelta(minutes=15))
    assert session.state.reason == "ErrImagePull"
