"""Label stamping (catalyst-internals contract) and apply order."""

from __future__ import annotations

import copy

from catalyst.cluster.labels import stamp_labels
from catalyst.cluster.ordering import in_apply_order
from catalyst.domain.model import ObjectRef

TOP = {
    "app.kubernetes.io/managed-by": "catalyst",
    "catalyst.io/environment-id": "7",
    "catalyst.io/chart": "mediawiki",
    "catalyst.io/revision": "3",
}
STABLE = {"app.kubernetes.io/managed-by": "catalyst", "catalyst.io/environment-id": "7"}


def stamp(obj: dict) -> dict:
    return stamp_labels(obj, environment_id=7, chart="mediawiki", revision=3)


def test_top_level_gets_all_four_labels_and_keeps_the_charts_own() -> None:
    obj = {"kind": "ConfigMap", "metadata": {"name": "c", "labels": {"app": "wiki"}}}
    assert stamp(obj)["metadata"]["labels"] == {"app": "wiki", **TOP}


def test_pod_template_gets_only_stable_labels() -> None:
    deployment = {
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {}}},
    }
    stamped = stamp(deployment)
    assert stamped["spec"]["template"]["metadata"]["labels"] == {"app": "web", **STABLE}


def test_statefulset_volume_claim_templates_are_labelled() -> None:
    sts = {
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "template": {"spec": {}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}],
        },
    }
    stamped = stamp(sts)
    assert stamped["spec"]["volumeClaimTemplates"][0]["metadata"]["labels"] == STABLE
    assert stamped["spec"]["template"]["metadata"]["labels"] == STABLE


def test_cronjob_job_template_and_its_pod_template_are_labelled() -> None:
    cron = {
        "kind": "CronJob",
        "metadata": {"name": "c"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}},
    }
    stamped = stamp(cron)
    assert stamped["spec"]["jobTemplate"]["metadata"]["labels"] == STABLE
    assert stamped["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"] == STABLE


def test_input_is_not_mutated() -> None:
    obj = {"kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": {}}}}
    before = copy.deepcopy(obj)
    stamp(obj)
    assert obj == before


def test_apply_order_puts_dependencies_first_and_is_stable() -> None:
    kinds = ["Ingress", "Deployment", "Job", "Service", "Widget", "ConfigMap", "Secret",
             "PersistentVolumeClaim", "ServiceAccount", "StatefulSet"]  # fmt: skip
    objects = [{"kind": k, "metadata": {"name": f"{k}-{i}"}} for i, k in enumerate(kinds)]
    objects.append({"kind": "ConfigMap", "metadata": {"name": "second"}})
    ordered = [(o["kind"], o["metadata"]["name"]) for o in in_apply_order(objects)]
    assert [k for k, _ in ordered] == [
        "ServiceAccount", "Secret", "ConfigMap", "ConfigMap", "PersistentVolumeClaim",
        "Service", "Deployment", "StatefulSet", "Job", "Ingress", "Widget",
    ]  # fmt: skip
    assert ordered[2:4] == [("ConfigMap", "ConfigMap-5"), ("ConfigMap", "second")]


def test_object_ref_identity_ignores_the_version() -> None:
    old = ObjectRef("networking.k8s.io/v1beta1", "Ingress", "env-1", "web")
    new = ObjectRef("networking.k8s.io/v1", "Ingress", "env-1", "web")
    assert old != new
    assert old.identity() == new.identity()
    ref = ObjectRef.from_object(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "env-1"}}
    )
    assert ref == ObjectRef("v1", "Namespace", "", "env-1")
