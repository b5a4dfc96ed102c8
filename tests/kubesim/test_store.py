"""Store write semantics (k8s-semantics B1, B15-B17, B19) without HTTP."""

from __future__ import annotations

import pytest

from kubesim.errors import ApiError
from kubesim.resources import NAMESPACE_TYPE, resource_type
from kubesim.store import Event, Store

CM = resource_type("", "v1", "configmaps")
DEPLOY = resource_type("apps", "v1", "deployments")


@pytest.fixture
def store() -> Store:
    s = Store()
    s.create(NAMESPACE_TYPE, {"metadata": {"name": "default"}})
    return s


def deployment(name: str = "web", replicas: int = 1) -> dict:
    return {"metadata": {"name": name, "namespace": "default"}, "spec": {"replicas": replicas}}


def test_every_write_takes_the_next_rv_and_reads_share_objects(store: Store) -> None:
    start = store.current_rv
    a = store.create(CM, {"metadata": {"name": "a", "namespace": "default"}})
    b = store.create(CM, {"metadata": {"name": "b", "namespace": "default"}})
    assert (a["metadata"]["resourceVersion"], b["metadata"]["resourceVersion"]) == (
        str(start + 1),
        str(start + 2),
    )
    assert store.get(CM, "default", "a") is a
    assert "generation" not in a["metadata"]  # ConfigMaps have none on a real server
    assert a["metadata"]["uid"]


def test_generate_name_and_invalid_name(store: Store) -> None:
    obj = store.create(CM, {"metadata": {"generateName": "job-", "namespace": "default"}})
    assert obj["metadata"]["name"].startswith("job-")
    assert len(obj["metadata"]["name"]) == 9
    with pytest.raises(ApiError) as err:
        store.create(CM, {"metadata": {"name": "Bad_Name", "namespace": "default"}})
    assert err.value.code == 422


def test_create_existing_is_already_exists(store: Store) -> None:
    store.create(CM, {"metadata": {"name": "a", "namespace": "default"}})
    with pytest.raises(ApiError) as err:
        store.create(CM, {"metadata": {"name": "a", "namespace": "default"}})
    assert (err.value.code, err.value.reason) == (409, "AlreadyExists")


def test_stale_rv_update_is_conflict(store: Store) -> None:
    obj = store.create(CM, {"metadata": {"name": "a", "namespace": "default"}, "data": {"x": "1"}})
    store.update(CM, {**obj, "data": {"x": "2"}})
    with pytest.raises(ApiError) as err:
        store.update(CM, {**obj, "data": {"x": "3"}})
    assert err.value.code == 409
    assert "the object has been modified" in err.value.message


def test_noop_update_keeps_rv_and_emits_nothing(store: Store) -> None:
    events: list[Event] = []
    obj = store.create(CM, {"metadata": {"name": "a", "namespace": "default"}, "data": {"x": "1"}})
    store.add_listener(events.append)
    same = store.update(CM, {**obj})
    assert same is obj
    assert events == []


def test_generation_tracks_spec_not_status_or_metadata(store: Store) -> None:
    d = store.create(DEPLOY, deployment())
    d2 = store.update(DEPLOY, {**d, "metadata": {**d["metadata"], "labels": {"a": "b"}}})
    assert d2["metadata"]["generation"] == 1
    d3 = store.update(DEPLOY, {**d2, "spec": {"replicas": 3}})
    assert d3["metadata"]["generation"] == 2
    d4 = store.update(DEPLOY, {**d3, "status": {"observedGeneration": 2}}, subresource="status")
    assert d4["metadata"]["generation"] == 2
    assert d4["status"] == {"observedGeneration": 2}


def test_status_split(store: Store) -> None:
    d = store.create(DEPLOY, deployment())
    d = store.update(DEPLOY, {**d, "status": {"replicas": 1}}, subresource="status")
    # main resource write cannot change status
    d2 = store.update(DEPLOY, {**d, "spec": {"replicas": 5}, "status": {"replicas": 99}})
    assert d2["status"] == {"replicas": 1}
    assert d2["spec"]["replicas"] == 5
    # status write cannot change spec
    d3 = store.update(
        DEPLOY, {**d2, "spec": {"replicas": 0}, "status": {"replicas": 5}}, subresource="status"
    )
    assert d3["spec"]["replicas"] == 5
    assert d3["status"] == {"replicas": 5}


def test_finalizers_delay_deletion(store: Store) -> None:
    events: list[Event] = []
    store.add_listener(events.append)
    obj = store.create(
        CM, {"metadata": {"name": "a", "namespace": "default", "finalizers": ["x/y"]}}
    )
    pending = store.delete(CM, "default", "a")
    assert pending["metadata"]["deletionTimestamp"]
    assert store.get(CM, "default", "a") is pending
    with pytest.raises(ApiError) as err:
        store.update(
            CM, {**pending, "metadata": {**pending["metadata"], "finalizers": ["x/y", "new"]}}
        )
    assert err.value.code == 422
    assert "no new finalizers" in err.value.message
    gone = store.update(CM, {**pending, "metadata": {**pending["metadata"], "finalizers": []}})
    assert store.get(CM, "default", "a") is None
    assert [e.type for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[-1].obj is gone
    assert int(gone["metadata"]["resourceVersion"]) == store.current_rv
    assert obj["metadata"]["uid"] == gone["metadata"]["uid"]


@pytest.mark.parametrize(
    ("policy", "finalizer"), [("Foreground", "foregroundDeletion"), ("Orphan", "orphan")]
)
def test_propagation_policies_add_finalizers(store: Store, policy: str, finalizer: str) -> None:
    store.create(DEPLOY, deployment())
    pending = store.delete(DEPLOY, "default", "web", propagation=policy)
    assert pending["metadata"]["finalizers"] == [finalizer]
    assert pending["metadata"]["deletionTimestamp"]


def test_delete_preconditions(store: Store) -> None:
    store.create(CM, {"metadata": {"name": "a", "namespace": "default"}})
    with pytest.raises(ApiError) as err:
        store.delete(CM, "default", "a", preconditions={"uid": "nope"})
    assert err.value.code == 409
    assert "Precondition failed" in err.value.message
    store.delete(CM, "default", "a")
    with pytest.raises(ApiError) as err:
        store.delete(CM, "default", "a")
    assert err.value.code == 404
    assert err.value.message == 'configmaps "a" not found'


def test_namespace_must_exist_and_be_open(store: Store) -> None:
    with pytest.raises(ApiError) as err:
        store.create(CM, {"metadata": {"name": "a", "namespace": "nope"}})
    assert err.value.code == 404
    assert err.value.message == 'namespaces "nope" not found'
    store.create(NAMESPACE_TYPE, {"metadata": {"name": "team"}})
    ns = store.delete(NAMESPACE_TYPE, None, "team")
    assert ns["status"]["phase"] == "Terminating"
    assert store.namespace_terminating("team")
    with pytest.raises(ApiError) as err:
        store.create(CM, {"metadata": {"name": "a", "namespace": "team"}})
    assert err.value.code == 403
    assert err.value.message == (
        'configmaps "a" is forbidden: unable to create new content in namespace team '
        "because it is being terminated"
    )
    # finalize empties spec.finalizers → the namespace is gone
    store.update(NAMESPACE_TYPE, {**ns, "spec": {"finalizers": []}}, subresource="finalize")
    assert store.get(NAMESPACE_TYPE, None, "team") is None


def test_dry_run_changes_nothing(store: Store) -> None:
    rv = store.current_rv
    store.create(CM, {"metadata": {"name": "a", "namespace": "default"}}, dry_run=True)
    assert store.get(CM, "default", "a") is None
    assert store.current_rv == rv


def test_mutate_writes_only_on_change(store: Store) -> None:
    store.create(DEPLOY, deployment())
    rv = store.current_rv
    store.mutate(DEPLOY, "default", "web", lambda d: None)
    assert store.current_rv == rv
    out = store.mutate(
        DEPLOY,
        "default",
        "web",
        lambda d: d.setdefault("status", {}).update(replicas=1),
        subresource="status",
    )
    assert out is not None
    assert out["status"] == {"replicas": 1}
    assert store.current_rv == rv + 1
    assert store.mutate(DEPLOY, "default", "gone", lambda d: None) is None


def test_failing_listener_does_not_stop_others(store: Store) -> None:
    seen: list[str] = []

    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    store.add_listener(broken)
    store.add_listener(lambda e: seen.append(e.type))
    store.create(CM, {"metadata": {"name": "a", "namespace": "default"}})
    assert seen == ["ADDED"]


def test_secret_string_data_is_folded_into_data(store: Store) -> None:
    secrets = resource_type("", "v1", "secrets")
    obj = store.create(
        secrets,
        {"metadata": {"name": "s", "namespace": "default"}, "stringData": {"user": "admin"}},
    )
    assert obj["data"] == {"user": "YWRtaW4="}
    assert obj["type"] == "Opaque"
    assert "stringData" not in obj
    # writing the same stringData again changes nothing
    again = store.update(secrets, {**obj, "stringData": {"user": "admin"}})
    assert again is obj


def test_service_gets_a_stable_cluster_ip(store: Store) -> None:
    services = resource_type("", "v1", "services")
    svc = store.create(
        services,
        {"metadata": {"name": "web", "namespace": "default"}, "spec": {"ports": [{"port": 80}]}},
    )
    ip = svc["spec"]["clusterIP"]
    assert svc["spec"]["type"] == "ClusterIP"
    assert ip.startswith("10.96.")
    updated = store.update(services, {**svc, "spec": {"ports": [{"port": 81}]}})
    assert updated["spec"]["clusterIP"] == ip
    assert updated["spec"]["clusterIPs"] == [ip]
