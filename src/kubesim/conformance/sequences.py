"""The request sequences compared between kubesim and a real kube-apiserver.

Each runs in fresh namespaces (``{ns}``, ``{ns2}``). Controllers on a real cluster act
asynchronously, so sequences compare the API server's own answers: defaulting is read from
``dryRun=All`` creates or from the create response, objects that controllers change are
compared on chosen paths only (``keep``), and what a controller finishes (garbage collection,
namespace termination) is awaited with ``until`` on both servers before it is read.
"""

from __future__ import annotations

from typing import Any

from kubesim.conformance.runner import APPLY, MERGE, STRATEGIC, TABLE, Sequence, Step

JSON_PATCH = "application/json-patch+json"
CM = "/api/v1/namespaces/{ns}/configmaps"
PODS = "/api/v1/namespaces/{ns}/pods"
SVC = "/api/v1/namespaces/{ns}/services"
SECRETS = "/api/v1/namespaces/{ns}/secrets"
DEPLOY = "/apis/apps/v1/namespaces/{ns}/deployments"
STS = "/apis/apps/v1/namespaces/{ns}/statefulsets"
DS = "/apis/apps/v1/namespaces/{ns}/daemonsets"
JOBS = "/apis/batch/v1/namespaces/{ns}/jobs"
CRONJOBS = "/apis/batch/v1/namespaces/{ns}/cronjobs"
ING = "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses"
DRY = {"dryRun": "All"}


def cm(name: str, data: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, **meta},
    }
    if data is not None:
        body["data"] = data
    return body


def child_of_owner(*, block_owner_deletion: bool = False) -> dict[str, Any]:
    """ConfigMap ``child`` owned by ConfigMap ``owner`` (its uid saved as ``{uid}``)."""
    reference: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": "{uid}",
    }
    if block_owner_deletion:
        reference["blockOwnerDeletion"] = True
    return cm("child", ownerReferences=[reference])


def container(name: str = "c", image: str = "busybox:1.36") -> dict[str, Any]:
    return {"name": name, "image": image}


def pod_template(labels: dict[str, str] | None = None) -> dict[str, Any]:
    template: dict[str, Any] = {"spec": {"containers": [container()]}}
    if labels is not None:
        template["metadata"] = {"labels": labels}
    return template


def pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [container()]},
    }


def deployment(name: str, replicas: int = 0) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": pod_template(labels),
        },
    }


def job(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"containers": [container()], "restartPolicy": "Never"}}},
    }


def ingress(name: str, host: str = "a.example.com") -> dict[str, Any]:
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    path = {"path": "/", "pathType": "Prefix", "backend": backend}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name},
        "spec": {"rules": [{"host": host, "http": {"paths": [path]}}]},
    }


def get(path: str, **options: Any) -> Step:
    return Step("GET", path, **options)


def post(path: str, body: Any, **options: Any) -> Step:
    return Step("POST", path, body, **options)


SEQUENCES: tuple[Sequence, ...] = (
    Sequence(
        "configmap-crud",
        "create, get, duplicate create (409), missing get (404), update, delete",
        (
            post(CM, cm("a", {"k": "v"})),
            get(CM + "/a"),
            post(CM, cm("a", {"k": "v"})),
            get(CM + "/missing"),
            Step("PUT", CM + "/a", cm("a", {"k": "w"})),
            Step("DELETE", CM + "/a"),
            get(CM + "/a"),
            Step("DELETE", CM + "/a"),
        ),
    ),
    Sequence(
        "update-conflict",
        "update with a stale resourceVersion (409), without one, and of a missing object",
        (
            post(CM, cm("a", {"k": "v"}), save={"rv": "metadata.resourceVersion"}),
            Step("PUT", CM + "/a", cm("a", {"k": "w"}, resourceVersion="{rv}")),
            Step("PUT", CM + "/a", cm("a", {"k": "x"}, resourceVersion="{rv}")),
            Step("PUT", CM + "/a", cm("a", {"k": "y"})),
            Step("PUT", CM + "/b", cm("b", {"k": "y"})),
            Step("PUT", CM + "/a", cm("other", {"k": "y"})),
        ),
    ),
    Sequence(
        "validation-422",
        "invalid objects: Status reason Invalid, message and causes",
        (
            post(CM, cm("Bad_Name")),
            post(PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}),
            post(
                DEPLOY,
                {
                    **deployment("d"),
                    "spec": {
                        "selector": {"matchLabels": {"app": "x"}},
                        "template": pod_template({"app": "y"}),
                    },
                },
            ),
            post(SVC, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}),
            post(CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
        ),
    ),
    Sequence(
        "bad-requests",
        "unknown resources and groups, wrong kind in body, bad JSON, unsupported patch type",
        (
            get("/api/v1/namespaces/{ns}/widgets"),
            get("/apis/nosuch.example.com/v1"),
            get("/api/v1/namespaces/{ns}/configmaps/a/nosub"),
            post(CM, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"}}),
            post(CM, "{not json"),
            post(CM, cm("a")),
            Step("PATCH", CM + "/a", {"data": {"k": "v"}}, content_type="text/plain"),
            post(CM, cm("b"), query={"fieldManager": "x" * 200}),
        ),
    ),
    Sequence(
        "namespace-mismatch",
        "a body whose namespace differs from the path's; a namespace that does not exist",
        (
            post(CM, cm("a", namespace="elsewhere")),
            post("/api/v1/namespaces/nosuch-ns-diff/configmaps", cm("a")),
            get("/api/v1/namespaces/nosuch-ns-diff/configmaps/a"),
        ),
    ),
    Sequence(
        "defaults-pod",
        "Pod defaulting (dryRun create), including admission's",
        (post(PODS, pod("p"), query=DRY),),
    ),
    Sequence(
        "defaults-deployment",
        "Deployment defaulting (dryRun create)",
        (post(DEPLOY, deployment("d", 1), query=DRY),),
    ),
    Sequence(
        "defaults-job",
        "Job defaulting: selector, controller-uid labels, completions, backoffLimit...",
        (post(JOBS, job("j"), query=DRY), post(JOBS, job("j2"), keep=("metadata", "spec"))),
    ),
    Sequence(
        "defaults-job-manual-selector",
        "A Job whose selector is given without manualSelector is refused (422)",
        (
            post(
                JOBS,
                {
                    **job("j"),
                    "spec": {
                        "selector": {"matchLabels": {"a": "b"}},
                        "template": {
                            "metadata": {"labels": {"a": "b"}},
                            "spec": {"containers": [container()], "restartPolicy": "Never"},
                        },
                    },
                },
            ),
        ),
    ),
    Sequence(
        "defaults-service",
        "Service defaulting: ClusterIP type, protocol, targetPort, policies",
        (
            post(
                SVC,
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": "s"},
                    "spec": {"selector": {"app": "a"}, "ports": [{"port": 80}]},
                },
            ),
            post(
                SVC,
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": "h"},
                    "spec": {"clusterIP": "None", "ports": [{"port": 80, "name": "http"}]},
                },
            ),
        ),
    ),
    Sequence(
        "defaults-configmap-secret",
        "ConfigMap and Secret: stringData folded into data, Secret type Opaque",
        (
            post(CM, cm("a", {"k": "v"})),
            post(
                SECRETS,
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "s"},
                    "stringData": {"password": "hunter2"},
                },
            ),
            get(SECRETS + "/s"),
        ),
    ),
    Sequence(
        "defaults-statefulset-daemonset-cronjob",
        "StatefulSet, DaemonSet and CronJob defaulting (dryRun create)",
        (
            post(
                STS,
                {
                    "apiVersion": "apps/v1",
                    "kind": "StatefulSet",
                    "metadata": {"name": "s"},
                    "spec": {
                        "serviceName": "s",
                        "selector": {"matchLabels": {"app": "s"}},
                        "template": pod_template({"app": "s"}),
                    },
                },
                query=DRY,
            ),
            post(
                DS,
                {
                    "apiVersion": "apps/v1",
                    "kind": "DaemonSet",
                    "metadata": {"name": "d"},
                    "spec": {
                        "selector": {"matchLabels": {"app": "d"}},
                        "template": pod_template({"app": "d"}),
                    },
                },
                query=DRY,
            ),
            post(
                CRONJOBS,
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "metadata": {"name": "c"},
                    "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": job("x")["spec"]}},
                },
                query=DRY,
            ),
        ),
    ),
    Sequence(
        "generation",
        "generation bumps on spec changes only; no-op updates keep the resourceVersion",
        (
            post(ING, ingress("i")),
            Step("PATCH", ING + "/i", {"metadata": {"labels": {"a": "b"}}}, content_type=MERGE),
            Step(
                "PATCH",
                ING + "/i",
                {"spec": {"rules": [{"host": "b.example.com"}]}},
                content_type=MERGE,
            ),
            Step("PATCH", ING + "/i", {"metadata": {"labels": {"a": "b"}}}, content_type=MERGE),
            Step("PATCH", ING + "/i", {}, content_type=MERGE),
            get(ING + "/i"),
        ),
    ),
    Sequence(
        "generation-deployment",
        "a Deployment's generation on spec and metadata changes",
        (
            post(DEPLOY, deployment("d"), keep=("metadata.generation",)),
            Step(
                "PATCH",
                DEPLOY + "/d",
                {"metadata": {"annotations": {"a": "b"}}},
                content_type=MERGE,
                keep=("metadata.generation",),
            ),
            Step(
                "PATCH",
                DEPLOY + "/d",
                {"spec": {"replicas": 2}},
                content_type=MERGE,
                keep=("metadata.generation", "spec.replicas"),
            ),
            get(DEPLOY + "/d/scale", keep=("kind", "apiVersion", "spec", "status.selector")),
        ),
    ),
    Sequence(
        "patch-types",
        "merge, JSON and strategic-merge patches; a failing JSON patch test",
        (
            post(CM, cm("a", {"k": "v"}, labels={"x": "1"})),
            Step("PATCH", CM + "/a", {"data": {"k": None, "n": "1"}}, content_type=MERGE),
            Step(
                "PATCH",
                CM + "/a",
                [{"op": "add", "path": "/data/j", "value": "2"}],
                content_type=JSON_PATCH,
            ),
            Step(
                "PATCH",
                CM + "/a",
                [{"op": "test", "path": "/data/j", "value": "3"}],
                content_type=JSON_PATCH,
            ),
            Step("PATCH", CM + "/a", {"metadata": {"labels": {"y": "2"}}}, content_type=STRATEGIC),
            Step("PATCH", CM + "/missing", {"data": {}}, content_type=MERGE),
        ),
    ),
    Sequence(
        "list-paging",
        "list with limit and continue across five objects",
        (
            *(post(CM, cm(f"p{i}", labels={"set": "page"}), record=False) for i in range(5)),
            get(
                CM,
                query={"limit": "2", "labelSelector": "set=page"},
                save={"c1": "metadata.continue"},
            ),
            get(
                CM,
                query={"limit": "2", "labelSelector": "set=page", "continue": "{c1}"},
                save={"c2": "metadata.continue"},
            ),
            get(CM, query={"limit": "2", "labelSelector": "set=page", "continue": "{c2}"}),
            get(CM, query={"limit": "2", "labelSelector": "set=page", "continue": "garbage"}),
        ),
    ),
    Sequence(
        "label-selectors",
        "equality, set-based, existence and invalid label selectors",
        (
            post(CM, cm("a", labels={"tier": "web", "env": "prod"}), record=False),
            post(CM, cm("b", labels={"tier": "db", "env": "prod"}), record=False),
            post(CM, cm("c", labels={"tier": "web"}), record=False),
            *(
                get(CM, query={"labelSelector": selector})
                for selector in (
                    "tier=web",
                    "tier!=web,env",
                    "tier in (web,db),env=prod",
                    "tier notin (web)",
                    "!env",
                    "env,tier==web",
                    "tier in web",
                    "a b",
                )
            ),
        ),
    ),
    Sequence(
        "field-selectors",
        "metadata.name, metadata.namespace, kind-specific and unsupported field selectors",
        (
            post(CM, cm("a"), record=False),
            post(CM, cm("b"), record=False),
            get(CM, query={"fieldSelector": "metadata.name=a"}),
            get(CM, query={"fieldSelector": "metadata.name!=a,metadata.namespace={ns}"}),
            get(CM, query={"fieldSelector": "data.k=v"}),
            get(PODS, query={"fieldSelector": "status.phase=Running"}),
            get(PODS, query={"fieldSelector": "spec.nodeName="}),
            get(SECRETS, query={"fieldSelector": "type=Opaque"}),
        ),
    ),
    Sequence(
        "server-side-apply",
        "apply create and update, managedFields shape, a second manager, conflicts, force",
        (
            Step(
                "PATCH",
                CM + "/a",
                cm("a", {"x": "1", "y": "1"}),
                content_type=APPLY,
                query={"fieldManager": "alice"},
            ),
            Step(
                "PATCH",
                CM + "/a",
                cm("a", {"x": "2"}),
                content_type=APPLY,
                query={"fieldManager": "alice"},
            ),
            Step(
                "PATCH",
                CM + "/a",
                cm("a", {"x": "3", "z": "1"}),
                content_type=APPLY,
                query={"fieldManager": "bob"},
            ),
            Step(
                "PATCH",
                CM + "/a",
                cm("a", {"x": "3", "z": "1"}),
                content_type=APPLY,
                query={"fieldManager": "bob", "force": "true"},
            ),
            Step("PATCH", CM + "/a", {"data": {"w": "1"}}, content_type=MERGE),
            Step("PATCH", CM + "/a", cm("a", {"x": "4"}), content_type=APPLY),
            get(CM + "/a"),
        ),
    ),
    Sequence(
        "server-side-apply-deployment",
        "apply a Deployment: managedFields of a kind with list-map keys (containers by name)",
        (
            Step(
                "PATCH",
                DEPLOY + "/d",
                deployment("d"),
                content_type=APPLY,
                query={"fieldManager": "tool"},
                keep=("metadata.managedFields", "metadata.generation", "spec"),
            ),
            Step(
                "PATCH",
                DEPLOY + "/d",
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "d"},
                    "spec": {"template": {"spec": {"containers": [container("c", "nginx")]}}},
                },
                content_type=APPLY,
                query={"fieldManager": "other"},
                keep=("metadata.managedFields",),
            ),
        ),
    ),
    Sequence(
        "finalizers",
        "a finalizer blocks deletion until it is removed",
        (
            post(CM, cm("a", finalizers=["example.com/hold"])),
            Step("DELETE", CM + "/a"),
            get(CM + "/a"),
            Step("PATCH", CM + "/a", {"data": {"k": "v"}}, content_type=MERGE),
            Step(
                "PATCH",
                CM + "/a",
                {"metadata": {"finalizers": ["example.com/other"]}},
                content_type=MERGE,
            ),
            Step("PATCH", CM + "/a", {"metadata": {"finalizers": None}}, content_type=MERGE),
            get(CM + "/a"),
        ),
    ),
    Sequence(
        "gc-background",
        "deleting an owner deletes its dependents (background)",
        (
            post(CM, cm("owner"), save={"uid": "metadata.uid"}),
            post(CM, child_of_owner()),
            Step("DELETE", CM + "/owner", query={"propagationPolicy": "Background"}),
            get(CM + "/child", until=404),
        ),
    ),
    Sequence(
        "gc-foreground",
        "foreground deletion: the owner waits (foregroundDeletion) for its dependents",
        (
            post(CM, cm("owner"), save={"uid": "metadata.uid"}),
            post(CM, child_of_owner(block_owner_deletion=True)),
            Step("DELETE", CM + "/owner", query={"propagationPolicy": "Foreground"}),
            get(CM + "/owner", until=404),
            get(CM + "/child", until=404),
        ),
    ),
    Sequence(
        "gc-orphan",
        "orphan deletion: dependents stay, without the owner reference",
        (
            post(CM, cm("owner"), save={"uid": "metadata.uid"}),
            post(CM, child_of_owner()),
            Step("DELETE", CM + "/owner", query={"propagationPolicy": "Orphan"}),
            get(CM + "/owner", until=404),
            get(CM + "/child", keep=("metadata.ownerReferences", "metadata.name")),
        ),
    ),
    Sequence(
        "namespace-termination",
        "deleting a namespace with content: Terminating, writes refused, then gone",
        (
            post("/api/v1/namespaces/{ns2}/configmaps", cm("a", finalizers=["example.com/x"])),
            Step("DELETE", "/api/v1/namespaces/{ns2}"),
            get(
                "/api/v1/namespaces/{ns2}",
                keep=("metadata.deletionTimestamp", "spec", "status.phase"),
            ),
            post("/api/v1/namespaces/{ns2}/configmaps", cm("b")),
            Step(
                "PATCH",
                "/api/v1/namespaces/{ns2}/configmaps/a",
                {"metadata": {"finalizers": None}},
                content_type=MERGE,
                record=False,
            ),
            get("/api/v1/namespaces/{ns2}", until=404),
        ),
        namespaces=2,
    ),
    Sequence(
        "namespace-object",
        "a namespace as created and read: finalizers, phase, name label",
        (
            get("/api/v1/namespaces/{ns}"),
            post(
                "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "Bad_Ns"}},
            ),
        ),
    ),
    Sequence("discovery-core", "/api and /api/v1", (get("/api"), get("/api/v1"))),
    Sequence("discovery-apps", "/apis/apps/v1", (get("/apis/apps/v1"),)),
    Sequence(
        "discovery-batch-networking",
        "/apis/batch/v1, /apis/networking.k8s.io/v1, /apis/coordination.k8s.io/v1",
        (
            get("/apis/batch/v1"),
            get("/apis/networking.k8s.io/v1"),
            get("/apis/coordination.k8s.io/v1"),
        ),
    ),
    Sequence(
        "watch-crud",
        "watch from a list's resourceVersion: ADDED, MODIFIED, DELETED in order",
        (
            get(CM, query={"labelSelector": "w=1"}, save={"rv": "metadata.resourceVersion"}),
            post(CM, cm("a", {"k": "1"}, labels={"w": "1"})),
            Step("PATCH", CM + "/a", {"data": {"k": "2"}}, content_type=MERGE),
            Step("DELETE", CM + "/a"),
            Step(
                "WATCH",
                CM,
                query={"labelSelector": "w=1", "resourceVersion": "{rv}"},
                events=3,
            ),
        ),
    ),
    Sequence(
        "watch-initial-events",
        "sendInitialEvents with bookmarks: existing objects, then the initial-events-end bookmark",
        (
            post(CM, cm("a", labels={"w": "1"})),
            post(CM, cm("b", labels={"w": "1"})),
            Step(
                "WATCH",
                CM,
                query={
                    "labelSelector": "w=1",
                    "sendInitialEvents": "true",
                    "allowWatchBookmarks": "true",
                    "resourceVersionMatch": "NotOlderThan",
                },
                events=3,
            ),
            Step(
                "WATCH",
                CM,
                query={"sendInitialEvents": "true", "resourceVersion": "0"},
                events=1,
                timeout=5,
            ),
        ),
    ),
    Sequence(
        "watch-selector-transitions",
        "a label change in and out of a watch's selector: ADDED and DELETED",
        (
            post(CM, cm("a"), save={"rv": "metadata.resourceVersion"}),
            Step("PATCH", CM + "/a", {"metadata": {"labels": {"w": "1"}}}, content_type=MERGE),
            Step("PATCH", CM + "/a", {"metadata": {"labels": {"w": "2"}}}, content_type=MERGE),
            Step(
                "WATCH",
                CM,
                query={"labelSelector": "w=1", "resourceVersion": "{rv}"},
                events=2,
            ),
        ),
    ),
    Sequence(
        "watch-expired",
        "watching from a resourceVersion long compacted: 410 Expired",
        (
            Step("WATCH", CM, query={"resourceVersion": "1"}, events=1, timeout=10),
            get(CM, query={"resourceVersion": "1", "resourceVersionMatch": "Exact"}),
        ),
    ),
    Sequence(
        "table",
        "Table output for kubectl get: columns and rows",
        (
            post(CM, cm("a", {"k": "v"}), record=False),
            get(CM, accept=TABLE),
            get(CM + "/a", accept=TABLE),
            post(
                SECRETS,
                {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}},
                record=False,
            ),
            get(SECRETS, accept=TABLE),
            get(ING, accept=TABLE),
            get("/api/v1/namespaces/{ns}", accept=TABLE),
        ),
    ),
    Sequence(
        "table-workloads",
        "Table columns of Deployments and Jobs (column definitions only)",
        (
            get(DEPLOY, accept=TABLE),
            get(JOBS, accept=TABLE),
            get(PODS, accept=TABLE),
            get(SVC, accept=TABLE),
        ),
    ),
    Sequence(
        "delete-answers",
        "what a delete returns per kind (Status or the object), and with a precondition",
        (
            post(CM, cm("a"), save={"uid": "metadata.uid"}, record=False),
            Step(
                "DELETE",
                CM + "/a",
                {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": "nope"}},
            ),
            Step("DELETE", CM + "/a"),
            post(ING, ingress("i"), record=False),
            Step("DELETE", ING + "/i"),
            post(CM, cm("b", labels={"d": "1"}), record=False),
            post(CM, cm("c", labels={"d": "1"}), record=False),
            Step("DELETE", CM, query={"labelSelector": "d=1"}),
        ),
    ),
)
