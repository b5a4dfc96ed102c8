"""`RealKube`: a real Kubernetes control plane on 127.0.0.1, with kwok standing in for kubelets.

``await RealKube(kubeconfig=path).start()`` (or ``async with``) runs, as child processes built
by ``make kube``: etcd, kube-apiserver (``https://127.0.0.1:PORT``, client-certificate auth,
RBAC), kube-controller-manager, kube-scheduler and kwok; and in this process the node's
kubelet endpoint and the container-log writer (:mod:`realkube.kubelet`). It creates the Node
objects kwok manages, the kwok ``Logs`` CRD, a default StorageClass whose claims kwok binds,
and the admission policy that keeps ``sim.kubesim.io/fail: Unschedulable`` pods off every
node. Pods move through kwok stages made from kubesim rules (:mod:`realkube.stages`).

``start()`` returns once pods can be scheduled and run: the API is ready, the nodes are Ready,
the ``default`` ServiceAccount exists (the controller manager works), the admission policy is
in force, and a probe pod has been scheduled, started and become Ready. Then it writes the
kubeconfig. Every wait is bounded by ``start_timeout``; on failure everything started so far
is stopped and the error names the component with the end of its log.

``stop()`` stops the agents, then kwok, the scheduler, the controller manager, the API server
and etcd (SIGTERM, then SIGKILL after a grace period); children also die with this process.
State lives in ``data_dir`` (etcd data, certificates, logs of every component, container log
files); without one, a temporary folder is used and removed at stop. A given ``data_dir``
keeps the cluster's objects across restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import yaml

from kubesim.selectors import (
    OP_DOES_NOT_EXIST,
    OP_EQUALS,
    OP_EXISTS,
    OP_IN,
    OP_NOT_EQUALS,
    OP_NOT_IN,
)
from kubesim.sim.rules import ANNOTATION_PREFIX, FAIL_MODES, Rules, load_rules
from realkube.binaries import Binaries, find_binaries
from realkube.client import ApiStatusError, KubeClient
from realkube.kubeconfig import write_kubeconfig
from realkube.kubelet import KubeletFront, LogWriter, PodTracker
from realkube.pki import Pki, ensure_pki
from realkube.process import Component, ComponentFailed
from realkube.stages import glob_regex, pod_stages

log = logging.getLogger(__name__)

NODE_PREFIX = "realkube-node"
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
UNSCHEDULABLE_LABEL = "sim.kubesim.io/unschedulable"
PROBE_NAMESPACE = "kube-system"
UNSCHEDULABLE_PATCH = (
    "has(object.spec.nodeSelector) ? "
    '[JSONPatch{op: "add", path: "/spec/nodeSelector/'
    + UNSCHEDULABLE_LABEL.replace("~", "~0").replace("/", "~1")
    + '", value: "true"}] : '
    '[JSONPatch{op: "add", path: "/spec/nodeSelector", value: '
    f'{{"{UNSCHEDULABLE_LABEL}": "true"}}}}]'
)
POLL = 0.1  # seconds between readiness checks of a starting component


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cel_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def unschedulable_cel(rules: Rules) -> str:
    """CEL on an admitted pod: is its behaviour ``fail: Unschedulable`` (annotation, else rules)?"""
    fail_key = _cel_string(ANNOTATION_PREFIX + "fail")
    annotations = "(has(object.metadata.annotations) ? object.metadata.annotations : {})"
    labels = "(has(object.metadata.labels) ? object.metadata.labels : {})"
    modes = "[" + ", ".join(_cel_string(m) for m in sorted(FAIL_MODES)) + "]"
    # The rules' verdict: the last matching rule that sets `fail` decides.
    verdict = "false"
    for rule in rules.pods:
        if rule.fail is None:
            continue
        conditions = []
        if rule.namespace is not None:
            conditions.append(
                f"request.namespace.matches({_cel_string(glob_regex(rule.namespace))})"
            )
        if rule.container is not None:
            conditions.append(
                f"object.spec.containers.exists(c, c.name == {_cel_string(rule.container)})"
            )
        for req in rule.selector.requirements if rule.selector is not None else ():
            key = _cel_string(req.key)
            values = "[" + ", ".join(_cel_string(v) for v in req.values) + "]"
            has = f"({key} in {labels})"
            if req.operator in (OP_EQUALS, OP_IN):
                conditions.append(f"({has} && {labels}[{key}] in {values})")
            elif req.operator in (OP_NOT_EQUALS, OP_NOT_IN):
                conditions.append(f"(!{has} || !({labels}[{key}] in {values}))")
            elif req.operator == OP_EXISTS:
                conditions.append(has)
            elif req.operator == OP_DOES_NOT_EXIST:
                conditions.append(f"!{has}")
            else:  # gt/lt: a rule that matches on them never sends a pod here
                conditions.append("false")
        condition = " && ".join(conditions) or "true"
        verdict = (
            f"(({condition}) ? {'true' if rule.fail == 'Unschedulable' else 'false'} : {verdict})"
        )
    return (
        f"({fail_key} in {annotations} && {annotations}[{fail_key}] in {modes}) "
        f"? {annotations}[{fail_key}] == 'Unschedulable' : {verdict}"
    )


BINDER_ANNOTATIONS = ("pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller")


def _leave_bind_completion_to_the_binder(stage: dict[str, Any]) -> None:
    """Drop the binder's own annotations from kwok's ``pvc-provision`` stage, in place.

    kwok's stage creates the PersistentVolume and, at once, marks the claim bound
    (``bind-completed``). kube-controller-manager's PV binder then syncs the claim as a bound
    one, and when its informer has not seen the new volume yet it sets the claim ``Lost``
    ("Bound claim has lost its PersistentVolume"); a moment later, volume seen, ``Bound``
    again. Catalyst rightly reads ``Lost`` as a failure, so under load environments failed
    for an instant. Without the annotation the binder treats the claim as one being bound:
    it waits for the volume (``Pending``) and completes the binding itself, as it does for
    a real external provisioner.
    """
    for step in stage["spec"]["steps"]:
        patch = step.get("patch") or {}
        if patch.get("root") != "metadata":
            continue
        lines = patch["template"].splitlines(keepends=True)
        patch["template"] = "".join(
            line for line in lines if not line.strip().startswith(BINDER_ANNOTATIONS)
        )


class RealKube:
    """A started cluster serves the Kubernetes API on ``url`` (see the module docstring)."""

    def __init__(
        self,
        kubeconfig: Path | None = None,
        *,
        port: int = 0,
        data_dir: Path | None = None,
        rules: Path | Rules | None = None,
        nodes: int = 1,
        start_timeout: float = 180.0,
        binaries: Binaries | None = None,
        apiserver_flags: Sequence[str] = (),
    ) -> None:
        self.kubeconfig_path = kubeconfig
        self.port = port
        self.data_dir = data_dir
        self.rules = rules if isinstance(rules, Rules) else load_rules(rules)
        self.nodes = nodes
        self.start_timeout = start_timeout
        self.binaries = binaries
        self.apiserver_flags = tuple(apiserver_flags)
        """Extra kube-apiserver flags, after realkube's own (a later flag wins), e.g.
        ``--watch-cache=false`` or ``--max-mutating-requests-inflight=2`` for fault tests."""
        self.client: KubeClient | None = None
        self._etcd_url: str | None = None
        self.pki: Pki | None = None
        self._owns_data_dir = False
        self._components: list[Component] = []
        self._tracker: PodTracker | None = None
        self._writer: LogWriter | None = None
        self._front: KubeletFront | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def components(self) -> list[Component]:
        return list(self._components)

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        try:
            await asyncio.wait_for(self._start(), self.start_timeout)
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, TimeoutError):
                raise ComponentFailed(
                    f"realkube did not become ready within {self.start_timeout:.0f}s; "
                    f"component logs are in {self.data_dir}/logs"
                ) from exc
            raise

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._front is not None:
            await self._front.stop()
            self._front = None
        if self._writer is not None:
            await self._writer.stop()
            self._writer = None
        for component in reversed(self._components):
            await component.stop()
        self._components.clear()
        if self.client is not None:
            await self.client.close()
            self.client = None
        if self._owns_data_dir and self.data_dir is not None:
            await asyncio.to_thread(shutil.rmtree, self.data_dir, True)
            self._owns_data_dir = False

    async def __aenter__(self) -> RealKube:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------- faults

    def component(self, name: str) -> Component:
        """The running component called ``name`` (``etcd``, ``kube-apiserver``,
        ``kube-controller-manager``, ``kube-scheduler``, ``kwok``)."""
        for component in self._components:
            if component.name == name:
                return component
        raise KeyError(f"no component {name!r}")

    async def restart(self, name: str, *, ready_within: float = 120.0) -> None:
        """Stop a component (SIGTERM, then SIGKILL after a grace period) and start it again
        with the same command line; for kube-apiserver, return once it is ready again."""
        component = self.component(name)
        await component.stop()
        await component.start()
        if name == "kube-apiserver":
            assert self.client is not None
            await asyncio.wait_for(self._wait_ready(self.client, component), ready_within)

    def freeze(self, name: str) -> None:
        """Stop a component's processes where they are (SIGSTOP): its connections stay
        open and nothing answers, as when a machine hangs."""
        self.component(name).send_signal(signal.SIGSTOP)

    def thaw(self, name: str) -> None:
        """Let a frozen component run again (SIGCONT)."""
        self.component(name).send_signal(signal.SIGCONT)

    async def compact_history(self) -> int:
        """Compact etcd's history up to its current revision (physically), through etcd's
        JSON gateway, and return that revision. A watch that resumes from an older
        resourceVersion then gets 410 Expired, provided the kube-apiserver serves it from
        etcd (``--watch-cache=false``): its watch cache would otherwise still hold the
        recent events."""
        assert self._etcd_url is not None, "realkube is not started"
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(base_url=self._etcd_url, timeout=timeout) as session:
            async with session.post("/v3/maintenance/status", json={}) as response:
                response.raise_for_status()
                revision = int((await response.json())["header"]["revision"])
            body = {"revision": str(revision), "physical": True}
            async with session.post("/v3/kv/compaction", json=body) as response:
                response.raise_for_status()
        return revision

    async def wait_failed(self) -> Component:
        """Wait until some component exits on its own; returns it."""
        waits = {asyncio.ensure_future(c.exited()): c for c in self._components}
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            return waits[next(iter(done))]
        finally:
            for future in waits:
                future.cancel()

    # ----------------------------------------------------------------- start-up

    async def _start(self) -> None:
        binaries = self.binaries
        if binaries is None:
            binaries = await asyncio.to_thread(find_binaries)
        self.binaries = binaries
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="realkube-"))
            self._owns_data_dir = True
        data = self.data_dir
        data.mkdir(parents=True, exist_ok=True)
        logs = data / "logs"
        pki = await asyncio.to_thread(ensure_pki, data / "pki")
        self.pki = pki
        if self.port == 0:
            self.port = free_port()
        etcd_port, peer_port, kwok_port, node_port = (free_port() for _ in range(4))
        admin_kubeconfig = data / "admin.kubeconfig"
        await asyncio.to_thread(write_kubeconfig, admin_kubeconfig, self.url, pki)
        program = binaries.program

        etcd_url = f"http://127.0.0.1:{etcd_port}"
        self._etcd_url = etcd_url
        peer_url = f"http://127.0.0.1:{peer_port}"
        await self._run(
            "etcd",
            [
                str(program("etcd")),
                "--name=realkube",
                f"--data-dir={data / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=realkube={peer_url}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            logs,
        )
        await self._wait_http(f"{etcd_url}/health", "etcd", self._components[-1])

        await self._run(
            "kube-apiserver",
            [
                str(program("kube-apiserver")),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.port}",
                f"--cert-dir={data / 'apiserver'}",
                f"--tls-cert-file={pki.apiserver_crt}",
                f"--tls-private-key-file={pki.apiserver_key}",
                f"--client-ca-file={pki.ca_crt}",
                f"--kubelet-certificate-authority={pki.ca_crt}",
                "--kubelet-preferred-address-types=InternalIP",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                "--v=1",
                *self.apiserver_flags,
            ],
            logs,
        )
        client = KubeClient(self.url, pki)
        self.client = client
        await self._wait_ready(client, self._components[-1])

        await self._install(client, binaries)
        kwok_config = data / "kwok.yaml"
        await asyncio.to_thread(self._write_kwok_config, kwok_config, binaries)
        component_kubeconfig = str(admin_kubeconfig)
        await self._run(
            "kube-controller-manager",
            [
                str(program("kube-controller-manager")),
                f"--kubeconfig={component_kubeconfig}",
                f"--authentication-kubeconfig={component_kubeconfig}",
                f"--authorization-kubeconfig={component_kubeconfig}",
                "--secure-port=0",
                "--leader-elect=false",
                f"--service-account-private-key-file={pki.sa_key}",
                f"--root-ca-file={pki.ca_crt}",
                f"--cluster-signing-cert-file={pki.ca_crt}",
                f"--cluster-signing-key-file={pki.ca_key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--v=1",
            ],
            logs,
        )
        await self._run(
            "kube-scheduler",
            [
                str(program("kube-scheduler")),
                f"--kubeconfig={component_kubeconfig}",
                f"--authentication-kubeconfig={component_kubeconfig}",
                f"--authorization-kubeconfig={component_kubeconfig}",
                "--secure-port=0",
                "--leader-elect=false",
                "--v=1",
            ],
            logs,
        )

        tracker = PodTracker(client)
        writer = LogWriter(client, self.rules, data / "containers")
        tracker.add_listener(writer.on_pod)
        self._tracker, self._writer = tracker, writer
        self._tasks.append(asyncio.create_task(tracker.run(), name="realkube pods"))
        front = KubeletFront(pki, f"http://127.0.0.1:{kwok_port}", tracker, writer, node_port)
        await front.start()
        self._front = front

        await self._run(
            "kwok",
            [
                str(program("kwok")),
                f"--kubeconfig={component_kubeconfig}",
                f"--config={kwok_config}",
                "--manage-all-nodes=true",
                f"--server-address=127.0.0.1:{kwok_port}",
                "--node-ip=127.0.0.1",
                f"--node-port={node_port}",
                f"--cidr={POD_CIDR}",
                "--node-lease-duration-seconds=40",
                "--enable-crds=Logs",
            ],
            logs,
        )
        await self._create_nodes(client, node_port)
        await self._wait_usable(client)
        if self.kubeconfig_path is not None:
            await asyncio.to_thread(write_kubeconfig, self.kubeconfig_path, self.url, pki)
        log.info("realkube serving at %s", self.url)

    async def _run(self, name: str, argv: list[str], logs: Path) -> None:
        component = Component(name, argv, logs / f"{name}.log")
        await component.start()
        self._components.append(component)

    async def _wait_http(self, url: str, what: str, component: Component) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                if not component.running:
                    raise component.failure("exited while starting")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(POLL)

    async def _wait_ready(self, client: KubeClient, component: Component) -> None:
        while True:
            if not component.running:
                raise component.failure("exited while starting")
            with contextlib.suppress(ApiStatusError, aiohttp.ClientError, TimeoutError, ValueError):
                await client.request("GET", "/readyz", deadline=5)
                return
            await asyncio.sleep(POLL)

    async def _retry(self, what: str, action: Any) -> Any:
        """Run ``action()`` until it succeeds (the API may still be settling); bounded by start."""
        while True:
            self._check_components()
            try:
                return await action()
            except (ApiStatusError, aiohttp.ClientError) as exc:
                log.debug("%s: %s", what, exc)
            await asyncio.sleep(POLL)

    def _check_components(self) -> None:
        for component in self._components:
            if not component.running:
                raise component.failure("exited while starting")

    async def _install(self, client: KubeClient, binaries: Binaries) -> None:
        """The kwok Logs CRD, kwok's StorageClass, and the Unschedulable admission policy."""
        kwok_dir = binaries.kwok_data
        crd = yaml.safe_load((kwok_dir / "kwok.x-k8s.io_logs.yaml").read_text())
        crd_path = (
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}"
        )
        await self._retry("Logs CRD", lambda: client.apply(crd_path, crd, manager="realkube"))
        storage = yaml.safe_load((kwok_dir / "storage-class.yaml").read_text())
        storage_path = f"/apis/storage.k8s.io/v1/storageclasses/{storage['metadata']['name']}"
        await self._retry(
            "StorageClass", lambda: client.apply(storage_path, storage, manager="realkube")
        )
        policy = {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingAdmissionPolicy",
            "metadata": {"name": "realkube-unschedulable"},
            "spec": {
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE"],
                            "resources": ["pods"],
                        }
                    ]
                },
                "matchConditions": [
                    {"name": "unschedulable", "expression": unschedulable_cel(self.rules)}
                ],
                "failurePolicy": "Fail",
                "reinvocationPolicy": "Never",
                "mutations": [
                    {
                        # JSON patch: a node selector is an atomic map, which an apply
                        # configuration may not change.
                        "patchType": "JSONPatch",
                        "jsonPatch": {"expression": UNSCHEDULABLE_PATCH},
                    }
                ],
            },
        }
        binding = {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingAdmissionPolicyBinding",
            "metadata": {"name": "realkube-unschedulable"},
            "spec": {"policyName": "realkube-unschedulable"},
        }
        base = "/apis/admissionregistration.k8s.io/v1"
        await self._retry(
            "admission policy",
            lambda: client.apply(
                f"{base}/mutatingadmissionpolicies/realkube-unschedulable",
                policy,
                manager="realkube",
            ),
        )
        await self._retry(
            "admission policy binding",
            lambda: client.apply(
                f"{base}/mutatingadmissionpolicybindings/realkube-unschedulable",
                binding,
                manager="realkube",
            ),
        )

        async def established() -> None:
            got = await client.get(crd_path)
            conditions = {
                c["type"]: c["status"] for c in got.get("status", {}).get("conditions", [])
            }
            if conditions.get("Established") != "True":
                raise ApiStatusError(503, "Logs CRD not established yet")

        await self._retry("Logs CRD established", established)

    def _write_kwok_config(self, path: Path, binaries: Binaries) -> None:
        kwok_dir = binaries.kwok_data
        documents: list[Any] = []
        for name in (
            "node-initialize.yaml",
            "node-heartbeat-with-lease.yaml",
            "pvc-provision.yaml",
            "pv-bind.yaml",
            "pvc-delete.yaml",
            "pv-delete.yaml",
        ):
            documents.extend(d for d in yaml.safe_load_all((kwok_dir / name).read_text()) if d)
        for document in documents:
            if document["metadata"]["name"] == "pvc-provision":
                _leave_bind_completion_to_the_binder(document)
        documents.extend(pod_stages(self.rules))
        path.write_text(yaml.safe_dump_all(documents, sort_keys=False))

    async def _create_nodes(self, client: KubeClient, node_port: int) -> None:
        for index in range(self.nodes):
            name = f"{NODE_PREFIX}-{index}"
            node = {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "annotations": {
                        "kwok.x-k8s.io/node": "fake",
                        "node.alpha.kubernetes.io/ttl": "0",
                    },
                    "labels": {
                        "kubernetes.io/hostname": name,
                        "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64",
                        "type": "kwok",
                    },
                },
                "spec": {},
                "status": {
                    "capacity": {"cpu": "32", "memory": "256Gi", "pods": "1000"},
                    "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "1000"},
                    "nodeInfo": {"kubeletVersion": "v0.0.0-kwok"},
                },
            }
            await self._retry(
                f"node {name}",
                lambda node=node, name=name: client.apply(
                    f"/api/v1/nodes/{name}", node, manager="realkube"
                ),
            )
            # A node kept from an earlier run (a given data_dir) still names that run's
            # kubelet port, and kwok refreshes it only every few minutes: point it here now.
            endpoint = {"status": {"daemonEndpoints": {"kubeletEndpoint": {"Port": node_port}}}}
            await self._retry(
                f"node {name} endpoint",
                lambda name=name, endpoint=endpoint: client.request(
                    "PATCH",
                    f"/api/v1/nodes/{name}/status",
                    body=endpoint,
                    content_type="application/merge-patch+json",
                ),
            )

    async def _wait_usable(self, client: KubeClient) -> None:
        """Nodes Ready, controllers working, admission policy active, a probe pod running."""

        async def nodes_ready() -> None:
            listed = await client.get("/api/v1/nodes")
            ready = [
                n
                for n in listed["items"]
                if n["metadata"]["name"].startswith(NODE_PREFIX)
                and any(
                    c["type"] == "Ready" and c["status"] == "True"
                    for c in n.get("status", {}).get("conditions", [])
                )
            ]
            if len(ready) < self.nodes:
                raise ApiStatusError(503, "nodes not Ready yet")

        await self._retry("nodes Ready", nodes_ready)
        await self._retry(
            "default ServiceAccount",
            lambda: client.get(f"/api/v1/namespaces/{PROBE_NAMESPACE}/serviceaccounts/default"),
        )

        def probe(name: str, annotations: dict[str, str]) -> dict[str, Any]:
            return {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": PROBE_NAMESPACE,
                    "annotations": annotations,
                },
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "probe", "image": "registry.k8s.io/pause:3.10"}],
                },
            }

        pods = f"/api/v1/namespaces/{PROBE_NAMESPACE}/pods"

        async def policy_active() -> None:
            body = probe("realkube-policy-probe", {ANNOTATION_PREFIX + "fail": "Unschedulable"})
            got = await client.request("POST", pods, params={"dryRun": "All"}, body=body)
            if (got.get("spec", {}).get("nodeSelector") or {}).get(UNSCHEDULABLE_LABEL) != "true":
                raise ApiStatusError(503, "admission policy not in force yet")

        await self._retry("admission policy active", policy_active)

        name = f"realkube-probe-{int(time.time() * 1000)}"
        await self._retry("probe pod", lambda: client.request("POST", pods, body=probe(name, {})))

        async def probe_ready() -> None:
            got = await client.get(f"{pods}/{name}")
            conditions = {
                c["type"]: c["status"] for c in got.get("status", {}).get("conditions", [])
            }
            if conditions.get("Ready") != "True":
                raise ApiStatusError(503, "probe pod not Ready yet")

        await self._retry("probe pod Ready", probe_ready)
        with contextlib.suppress(ApiStatusError):
            await client.request("DELETE", f"{pods}/{name}", params={"gracePeriodSeconds": "0"})
