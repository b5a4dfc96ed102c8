"""Object builders and fast rules for the simulator's integration tests
(``tests/kubesim/sim``)."""

from __future__ import annotations

from typing import Any

from kubesim.sim import parse_rules
from kubesim.sim.objects import POD, controller_of
from kubesim.sim.rules import Rules
from kubesim.store import Store

FAST_TIMINGS = {
    "scheduleAfter": "10ms",
    "startAfter": "20ms",
    "readyAfter": "30ms",
    "runFor": "100ms",
    "bindAfter": "20ms",
    "restartBackoff": "30ms",
}


def fast_rules(**extra: Any) -> Rules:
    return parse_rules({"timings": dict(FAST_TIMINGS), **extra})


def pod_template(
    app: str,
    *,
    annotations: dict[str, str] | None = None,
    image: str = "nginx:1.25",
    restart_policy: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": app, "image": image}]}
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    meta: dict[str, Any] = {"labels": {"app": app}}
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta, "spec": spec}


def deployment(name: str, replicas: int = 1, **spec: Any) -> dict[str, Any]:
    body = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": pod_template(name),
    }
    body.update(spec)
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": body}


def owned_pods(store: Store, owner: dict[str, Any]) -> list[dict[str, Any]]:
    uid = owner["metadata"]["uid"]
    return [
        p
        for p in store.list(POD, "ns")
        if (ref := controller_of(p)) is not None and ref.get("uid") == uid
    ]


def condition(obj: dict[str, Any] | None, ctype: str) -> dict[str, Any] | None:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None
