"""Which pods count as evidence for which inventory object (§6.2)."""

from __future__ import annotations

from catalyst.domain import EvidenceIndex, ObjectRef
from tests.support.factories import deployment, job, pod, replicaset, statefulset


def names(pods: list) -> list[str]:
    return sorted(p["metadata"]["name"] for p in pods)


def test_deployment_pods_come_from_the_replicaset_of_its_revision() -> None:
    dep = deployment(revision="2")
    old, new = replicaset(dep, revision="1"), replicaset(dep, revision="2")
    index = EvidenceIndex([pod("a", old), pod("b", new)], [old, new])
    assert index.newest_replicaset(dep) is new
    assert names(index.pods_for(ObjectRef.from_object(dep), dep)) == ["b"]


def test_without_a_revision_annotation_the_highest_revision_wins() -> None:
    dep = deployment()
    del dep["metadata"]["annotations"]
    old, new = replicaset(dep, revision="1"), replicaset(dep, revision="10")
    assert EvidenceIndex([], [new, old]).newest_replicaset(dep) is new


def test_replicaset_of_the_revision_not_created_yet_means_no_pods() -> None:
    dep = deployment(revision="3")
    old = replicaset(dep, revision="2")
    index = EvidenceIndex([pod("a", old)], [old])
    assert index.newest_replicaset(dep) is None
    assert index.pods_for(ObjectRef.from_object(dep), dep) == []


def test_finished_and_deleting_pods_are_skipped() -> None:
    sts = statefulset()
    pods = [
        pod("live", sts),
        pod("evicted", sts, phase="Failed", reason="Evicted"),
        pod("done", sts, phase="Succeeded"),
        pod("going", sts, deleting=True),
    ]
    assert names(EvidenceIndex(pods).pods_for(ObjectRef.from_object(sts), sts)) == ["live"]


def test_job_pods_and_unrelated_pods() -> None:
    j = job()
    other = job("other")
    index = EvidenceIndex([pod("mine", j), pod("theirs", other), pod("bare", None)])
    assert names(index.pods_for(ObjectRef.from_object(j), j)) == ["mine"]


def test_malformed_evidence_is_ignored() -> None:
    sts = statefulset()
    broken = pod("broken", sts)
    broken["metadata"]["ownerReferences"] = "not-a-list"
    index = EvidenceIndex([broken, {"metadata": None}, pod("ok", sts)])
    assert names(index.pods_for(ObjectRef.from_object(sts), sts)) == ["ok"]
