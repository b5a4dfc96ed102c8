"""Differences from a real kube-apiserver that kubesim keeps (for now), with the reason.

The single list read by the differential test (tests/kubesim/test_differential.py), by the
report (``python -m kubesim.conformance``) and by ``docs/dev/kubesim-fidelity.md``, which
renders it. An entry matches a difference by sequence name, request (``METHOD path
template``) and path in the compared answer: shell-style patterns, where ``[`` would start a
character class, so patterns use ``*`` only. ``kind`` says whether kubesim differs by design
("intentional") or whether it is a known gap nobody has fixed yet ("gap").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Intentional:
    name: str
    sequences: str
    paths: tuple[str, ...]
    reason: str
    requests: str = "*"
    kind: str = "intentional"


INTENTIONAL: tuple[Intentional, ...] = (
    Intentional(
        "delete-returns-object",
        "*",
        ("body", "body.*", "status"),
        "kubesim answers every delete with the deleted object (200); a real server answers "
        "Status Success for kinds whose registry does not return deleted objects (ConfigMap, "
        "Ingress...), and its 409 precondition message names the kind differently. kubectl, "
        "client-go and the Python client accept either.",
        requests="DELETE *",
        kind="gap",
    ),
    Intentional(
        "no-per-kind-validation",
        "validation-422",
        ("*",),
        "kubesim validates names, namespaces, selectors and a few fields, not every kind's "
        "spec (pods without containers, a Deployment whose selector does not match its "
        "template, a Service without ports are accepted); name-validation messages also "
        "differ in wording. Catalyst and its charts send valid objects; validating every "
        "kind would mean re-implementing the apiserver's validation.",
    ),
    Intentional(
        "job-manual-selector-validation",
        "defaults-job-manual-selector",
        ("*",),
        "A Job with a selector but without manualSelector: a real server merges the "
        "controller-uid into the selector and refuses (422) the template that no longer "
        "matches; kubesim merges it too but, without spec validation, accepts the Job.",
    ),
    Intentional(
        "bad-requests",
        "bad-requests",
        ("*",),
        "Beyond wording: kubesim does not limit fieldManager to 128 bytes (a real server "
        "answers 422), and answers an unknown group-version with a JSON Status 404 where a "
        "real server sends a plain-text 404 page.",
        kind="gap",
    ),
    Intentional(
        "admission-plugins",
        "defaults-pod",
        (
            "body.spec.*",
            "body.status.qosClass",
            "body.spec.containers*.volumeMounts",
            "body.spec.containers*.resources",
        ),
        "Admission plugins are not emulated: ServiceAccount (serviceAccountName, the "
        "kube-api-access volume and mount), DefaultTolerationSeconds, Priority "
        "(priority, preemptionPolicy), enableServiceLinks and qosClass.",
    ),
    Intentional(
        "discovery-contents",
        "discovery-*",
        ("*",),
        "kubesim serves a subset of the built-in kinds (see README), in its own order, "
        "without storageVersionHash, and its /api serverAddress has no port.",
    ),
    Intentional(
        "watch-expired-history",
        "watch-expired",
        ("*",),
        "A fresh kubesim keeps its whole (bounded) watch history, so watching from "
        "resourceVersion 1 replays instead of answering 410 Expired; 410 is returned once the "
        "history has moved past (tests/kubesim/test_watch_hub.py), and an Exact list at an "
        "old version is refused differently.",
    ),
    Intentional(
        "table-column-descriptions",
        "table*",
        ("*columnDefinitions*.description", "*columnDefinitions*.type"),
        "Table column descriptions are short labels on kubesim (a real server copies the "
        "OpenAPI field descriptions), and count columns are typed integer (a real server: "
        "string). kubectl prints names and cells only.",
    ),
    Intentional(
        "real-namespace-content",
        "*",
        ("body.items", "body.rows", "body.rows*"),
        "A real cluster's root-CA publisher puts ConfigMap kube-root-ca.crt in every "
        "namespace (and a default ServiceAccount); kubesim does not, so unselected lists "
        "and Tables of ConfigMaps have one more row on a real server.",
    ),
    Intentional(
        "managed-fields-content",
        "*",
        ("*managedFields*",),
        "For writes other than apply, kubesim's managedFields record the fields the client "
        "sent, without the server-defaulted fields and the '.' markers a real server adds. "
        "Manager, operation and apiVersion are kept; only the fieldsV1 sets differ, which "
        "matters only to a second apply manager that relies on owning defaulted fields.",
        kind="gap",
    ),
    Intentional(
        "deployment-generation-on-annotations",
        "generation-deployment",
        ("*metadata.generation",),
        "A real server also bumps a Deployment's generation when only its annotations "
        "change; kubesim bumps generation on spec changes only. Not changed yet: kubesim's "
        "simulated Deployment controller writes the revision annotation itself, and how that "
        "write interacts with the rule (observedGeneration, rollout status) is unchecked.",
        kind="gap",
    ),
    Intentional(
        "list-items-typed",
        "*",
        ("body.items*.kind", "body.items*.apiVersion"),
        "kubesim writes kind and apiVersion into each list item (a real server leaves them "
        "empty in JSON lists). Clients ignore or accept both.",
    ),
    Intentional(
        "error-wording",
        "*",
        ("body.message", "body.details.causes*", "body.details.kind"),
        "Messages of decode, parse and precondition errors (bad JSON, wrong kind, bad label "
        "selectors or continue tokens, finalizer and namespace errors) are worded by kubesim; "
        "status code and reason match.",
    ),
    Intentional(
        "empty-defaults",
        "*",
        (
            "*.resources",
            "body.status",
            "body.spec.jobTemplate.metadata",
            "body.spec.jobTemplate.spec.template.metadata",
            "body.spec.jobTemplate.spec.backoffLimit",
            "body.spec.ipFamilies",
            "body.spec.ipFamilyPolicy",
            "body.spec.clusterIPs",
            "body.metadata.annotations",
        ),
        "Empty or derived values a real server writes and kubesim leaves out: resources {}, "
        "initial status ({}, zero counters, loadBalancer {}), empty template metadata, a "
        "Service's ipFamilies/ipFamilyPolicy (and clusterIPs of headless Services), "
        "DaemonSet's deprecated.daemonset.template.generation annotation; kubesim defaults a "
        "CronJob's jobTemplate backoffLimit (a real server leaves it to the Job).",
        kind="gap",
    ),
)


def markdown() -> str:
    """The list as the Markdown table of ``docs/dev/kubesim-fidelity.md`` (between its
    ``intentional:begin`` and ``intentional:end`` markers; the test checks they agree)."""
    lines = [
        "| Entry | Kind | Sequences | Requests | Paths | Reason |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for entry in INTENTIONAL:
        paths = ", ".join(f"`{p}`" for p in entry.paths)
        lines.append(
            f"| `{entry.name}` | {entry.kind} | `{entry.sequences}` | `{entry.requests}` "
            f"| {paths} | {entry.reason} |"
        )
    return "\n".join(lines) + "\n"
