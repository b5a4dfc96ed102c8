"""The simulated kubelet (and scheduler): moves every Pod through its timeline.

For each pod it remembers when it was first seen (monotonic and wall clock) and, on every
reconcile, writes the status computed by :func:`kubesim.sim.podstate.pod_status` through
the status subresource, then sets one timer for the next change. Scheduling is a
main-resource write of ``spec.nodeName`` (as the binding subresource does).

Guarantees: status is a pure function of the pod's plan and its age, so repeated or
missed events never produce different states; a deleted pod's timer is cancelled.
Awkward cases: pods created while kubesim was down do not exist (all state is in memory);
a pod that already carries a terminal phase (written by someone else) is left alone.
A pod whose PersistentVolumeClaims are missing or not Bound is not scheduled
(PodScheduled=False Unschedulable) until they are; scheduling then happens from that moment.
A container referencing a missing Secret/ConfigMap (non-optional ``env``/``envFrom``) waits
with CreateContainerConfigError; when the object appears, its containers start from then.
Pod deletion is immediate in the store (no finalizers), so there is no grace period to
simulate here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubesim.resources import ResourceType
from kubesim.sim.clock import Clock
from kubesim.sim.controller import Controller, Key
from kubesim.sim.objects import CONFIG_MAP, NODE, POD, PVC, SECRET, claim_names, key_of
from kubesim.sim.podstate import (
    PREEMPTION,
    UNBOUND_CLAIMS_MESSAGE,
    UNSCHEDULABLE_MESSAGE,
    ContainerPlan,
    PodPlan,
    PodSnapshot,
    pod_status,
)
from kubesim.sim.rules import Rules
from kubesim.store import Event, Store

DEFAULT_NODE = "kubesim-node"
DEFAULT_HOST_IP = "10.0.0.10"
TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


@dataclass(slots=True)
class PodOrigin:
    """What the kubelet remembers about one pod: when it first saw it, and how long a
    missing Secret/ConfigMap has held its containers back."""

    uid: str
    monotonic: float
    wall: datetime
    start_delay: float = 0.0
    schedule_delay: float = 0.0
    config_blocked: bool = False
    claims_blocked: bool = False


def missing_config(store: Store, namespace: str, container: Mapping[str, Any]) -> str | None:
    """The kubelet's CreateContainerConfigError message for ``container``, if any."""
    refs: list[tuple[ResourceType, str, str | None]] = []
    for env in container.get("env") or []:
        source = env.get("valueFrom") or {}
        for field, rt in (("secretKeyRef", SECRET), ("configMapKeyRef", CONFIG_MAP)):
            ref = source.get(field)
            if ref and not ref.get("optional"):
                refs.append((rt, str(ref.get("name", "")), ref.get("key")))
    for env_from in container.get("envFrom") or []:
        for field, rt in (("secretRef", SECRET), ("configMapRef", CONFIG_MAP)):
            ref = env_from.get(field)
            if ref and not ref.get("optional"):
                refs.append((rt, str(ref.get("name", "")), None))
    for rt, name, key in refs:
        obj = store.get(rt, namespace, name)
        kind = "secret" if rt is SECRET else "configmap"
        if obj is None:
            return f'{kind} "{name}" not found'
        if (
            key is not None
            and key not in (obj.get("data") or {})
            and key not in (obj.get("stringData") or {})
            and key not in (obj.get("binaryData") or {})
        ):
            return f"couldn't find key {key} in {rt.kind} {namespace}/{name}"
    return None


def qos_class(spec: Mapping[str, Any]) -> str:
    """BestEffort / Burstable / Guaranteed from the containers' requests and limits."""
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        requests = res.get("requests") or {}
        limits = res.get("limits") or {}
        if requests or limits:
            any_set = True
        for resource in ("cpu", "memory"):
            limit = limits.get(resource)
            if limit is None or str(requests.get(resource, limit)) != str(limit):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def pod_ip_for(uid: str) -> str:
    digest = hashlib.sha256(uid.encode()).digest()
    return f"10.244.{digest[0]}.{max(digest[1], 2)}"


class Kubelet(Controller):
    name = "kubelet"

    def __init__(self, store: Store, rules: Rules, clock: Clock) -> None:
        super().__init__(store, clock)
        self.rules = rules
        self._origins: dict[Key, PodOrigin] = {}

    def keys_for(self, event: Event) -> Iterable[Key]:
        if event.resource is SECRET or event.resource is CONFIG_MAP:
            if event.type == "DELETED":
                return ()
            ns = event.obj["metadata"].get("namespace") or ""
            return [k for k, o in self._origins.items() if o.config_blocked and k[0] == ns]
        if event.resource is PVC:
            if event.type == "DELETED":
                return ()
            ns = event.obj["metadata"].get("namespace") or ""
            return [k for k, o in self._origins.items() if o.claims_blocked and k[0] == ns]
        if event.resource is POD:
            key = key_of(event.obj)
            if event.type == "DELETED":
                self.cancel_timer(key)
                self._origins.pop(key, None)
                return ()
            return (key,)
        return ()

    def initial_keys(self) -> Iterable[Key]:
        return [key_of(p) for p in self.store.list(POD)]

    def forget(self, key: Key) -> None:
        self._origins.pop(key, None)

    # ------------------------------------------------------------------ plans

    def plan_for(self, pod: Mapping[str, Any], origin: PodOrigin | None = None) -> PodPlan:
        meta = pod["metadata"]
        spec = pod.get("spec") or {}
        namespace = meta.get("namespace") or ""

        def plans(items: list[Mapping[str, Any]]) -> tuple[ContainerPlan, ...]:
            return tuple(
                ContainerPlan(
                    str(c.get("name", "")),
                    str(c.get("image", "")),
                    self.rules.behaviour(pod, str(c.get("name", ""))),
                    missing_config(self.store, namespace, c),
                )
                for c in items
            )

        init = plans(spec.get("initContainers") or [])
        main = plans(spec.get("containers") or [])
        return PodPlan(
            namespace=meta.get("namespace") or "",
            name=meta["name"],
            uid=str(meta.get("uid", "")),
            restart_policy=spec.get("restartPolicy") or "Always",
            init_containers=init,
            containers=main,
            timings=self.rules.timings,
            unschedulable=self._unschedulable(pod, init + main),
            host_ip=self._host_ip(spec.get("nodeName")),
            pod_ip=pod_ip_for(str(meta.get("uid", ""))),
            qos_class=qos_class(spec),
            start_delay=origin.start_delay if origin is not None else 0.0,
            schedule_delay=origin.schedule_delay if origin is not None else 0.0,
        )

    def _unschedulable(
        self, pod: Mapping[str, Any], containers: tuple[ContainerPlan, ...]
    ) -> str | None:
        if any(c.behaviour.fail == "Unschedulable" for c in containers):
            return UNSCHEDULABLE_MESSAGE
        if (pod.get("spec") or {}).get("nodeName"):
            return None  # already bound: claims no longer matter to the scheduler
        namespace = pod["metadata"].get("namespace") or ""
        for claim in claim_names(pod):
            pvc = self.store.get(PVC, namespace, claim)
            if pvc is None:
                missing = f'persistentvolumeclaim "{claim}" not found'
                return f"0/1 nodes are available: {missing}. {PREEMPTION}"
            if (pvc.get("status") or {}).get("phase") != "Bound":
                return UNBOUND_CLAIMS_MESSAGE
        return None

    def _host_ip(self, node_name: str | None) -> str:
        if node_name:
            node = self.store.get(NODE, None, node_name)
            for addr in ((node or {}).get("status") or {}).get("addresses") or []:
                if addr.get("type") == "InternalIP" and addr.get("address"):
                    return str(addr["address"])
        return DEFAULT_HOST_IP

    def _node_name(self) -> str:
        nodes = self.store.list(NODE)
        return str(nodes[0]["metadata"]["name"]) if nodes else DEFAULT_NODE

    def snapshot(self, pod: Mapping[str, Any]) -> PodSnapshot | None:
        """The pod's current simulated state (``None`` if the kubelet has not seen it)."""
        origin = self._origins.get(key_of(pod))
        if origin is None or origin.uid != pod["metadata"].get("uid"):
            return None
        elapsed = self.clock.monotonic() - origin.monotonic
        return pod_status(self.plan_for(pod, origin), elapsed, origin.wall)

    def origin_of(self, pod: Mapping[str, Any]) -> PodOrigin | None:
        origin = self._origins.get(key_of(pod))
        return origin if origin is not None and origin.uid == pod["metadata"].get("uid") else None

    # ------------------------------------------------------------------ reconcile

    def _unblock(self, origin: PodOrigin, plan: PodPlan, elapsed: float) -> bool:
        """Track what holds the pod back; when a hold ends, shift its timeline so the
        held step happens now. True if the plan must be rebuilt."""
        timings = self.rules.timings
        changed = False
        claims_held = plan.unschedulable not in (None, UNSCHEDULABLE_MESSAGE)
        if claims_held:
            origin.claims_blocked = True
        elif origin.claims_blocked:
            origin.claims_blocked = False
            origin.schedule_delay = max(elapsed - timings.schedule_after, 0.0)
            changed = True
        if any(c.config_error for c in plan.init_containers + plan.containers):
            origin.config_blocked = True
        elif origin.config_blocked:
            # The missing Secret/ConfigMap appeared: containers start from now on.
            origin.config_blocked = False
            nominal_start = timings.schedule_after + origin.schedule_delay + timings.start_after
            origin.start_delay = max(elapsed - nominal_start, 0.0)
            changed = True
        return changed

    def reconcile(self, key: Key) -> float | None:
        namespace, name = key
        pod = self.store.get(POD, namespace, name)
        if pod is None:
            self.forget(key)
            return None
        uid = str(pod["metadata"].get("uid", ""))
        origin = self._origins.get(key)
        if origin is None or origin.uid != uid:
            origin = PodOrigin(uid, self.clock.monotonic(), self.clock.now())
            self._origins[key] = origin
        if pod["metadata"].get("deletionTimestamp"):
            return None
        current_phase = (pod.get("status") or {}).get("phase")
        elapsed = self.clock.monotonic() - origin.monotonic
        plan = self.plan_for(pod, origin)
        if self._unblock(origin, plan, elapsed):
            plan = self.plan_for(pod, origin)
        snap = pod_status(plan, elapsed, origin.wall)
        if current_phase in TERMINAL_PHASES and snap.phase not in TERMINAL_PHASES:
            # Someone else ended this pod (eviction, a test); a real kubelet never
            # resurrects a terminated pod, so neither do we.
            return None
        scheduled = any(
            c.get("type") == "PodScheduled" and c.get("status") == "True"
            for c in snap.status.get("conditions") or []
        )
        if scheduled and not (pod.get("spec") or {}).get("nodeName"):
            node = self._node_name()

            def bind(draft: dict[str, Any]) -> None:
                draft.setdefault("spec", {})["nodeName"] = node

            self.store.mutate(POD, namespace, name, bind)
        self.replace_status(POD, key, snap.status)
        if snap.next_change is None:
            return None
        return max(snap.next_change - (self.clock.monotonic() - origin.monotonic), 0.0)
