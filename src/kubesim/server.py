"""`KubeSim`: the whole emulator in one object.

Composition order on ``start()``: store (with the server's own resource
registry) → watch hub → faults → CustomResourceDefinition serving
(`kubesim.crds`, part of the API server, so it runs even without controllers)
→ bootstrap objects (system namespaces, the ``kubesim-node`` Node) →
controllers (garbage collector, namespace controller, workload simulator) →
HTTP server → kubeconfig. ``stop()`` runs it backwards: closes every watch so
streaming handlers return, stops the HTTP server, then the controllers and
the CRD serving.

Controllers live in modules written separately; while one is missing, kubesim
logs a warning and runs without it (tests of the API alone still work).
A ``default`` ServiceAccount is created in every new namespace, as the
serviceaccount controller does.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from aiohttp import web

from kubesim.api import ApiContext, build_app
from kubesim.api.context import DEFAULT_BOOKMARK_INTERVAL, DEFAULT_MIN_REQUEST_TIMEOUT
from kubesim.crds import CustomResourceDefinitions
from kubesim.errors import ApiError
from kubesim.faults import Faults
from kubesim.kubeconfig import write_kubeconfig
from kubesim.resources import NAMESPACE_TYPE, resource_type
from kubesim.store import Event, Store
from kubesim.watch import (
    DEFAULT_HISTORY_LIMIT,
    DEFAULT_HISTORY_SECONDS,
    DEFAULT_QUEUE_LIMIT,
    WatchHub,
)

log = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
NODE_NAME = "kubesim-node"
SHUTDOWN_TIMEOUT = 2.0


class Controller(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def _node() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": NODE_NAME,
            "labels": {
                "kubernetes.io/hostname": NODE_NAME,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node-role.kubernetes.io/control-plane": "",
            },
        },
        "spec": {},
        "status": {
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "1000"},
            "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "1000"},
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                }
            ],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "nodeInfo": {
                "kubeletVersion": "v1.32.0-kubesim",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


class HeapFreezer:
    """Keeps cyclic-GC pauses short while the store holds a large, long-lived heap.

    CPython's full (generation 2) collection scans every tracked container; with
    tens of thousands of stored objects that is a 0.3-1 s stop of the event loop,
    which shows up directly as watch latency. Stored objects are acyclic JSON
    trees, so there is nothing for the cyclic GC to find in them: every
    ``interval`` seconds this collects the young generations and then
    ``gc.freeze()``s everything alive, so later collections skip it. Cycles that
    die after being frozen are reclaimed by an unfreeze + full collection every
    ``full_every`` seconds (one pause, rarely).

    gc state is process-wide: use it only when kubesim owns the process
    (``kubesim serve``), never in a shared test process.
    """

    def __init__(self, *, interval: float = 5.0, full_every: float = 600.0) -> None:
        self.interval = interval
        self.full_every = full_every
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="kubesim-heap-freezer"
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        gc.unfreeze()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_full = loop.time() + self.full_every
        while True:
            await asyncio.sleep(self.interval)
            try:
                if loop.time() >= next_full:
                    gc.unfreeze()
                    gc.collect()
                    next_full = loop.time() + self.full_every
                else:
                    gc.collect(1)
                gc.freeze()
            except Exception:
                log.exception("heap freezer failed; cyclic GC left at defaults")
                gc.unfreeze()
                return


class KubeSim:
    """A started emulator serves the Kubernetes API on ``url``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        kubeconfig: Path | None = None,
        rules: Path | None = None,
        *,
        history_limit: int = DEFAULT_HISTORY_LIMIT,
        history_seconds: float = DEFAULT_HISTORY_SECONDS,
        bookmark_interval: float = DEFAULT_BOOKMARK_INTERVAL,
        min_request_timeout: float = DEFAULT_MIN_REQUEST_TIMEOUT,
        watch_queue_limit: int = DEFAULT_QUEUE_LIMIT,
        controllers: bool = True,
        freeze_heap: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.kubeconfig_path = kubeconfig
        self.rules_path = rules
        self.store = Store()
        self.hub = WatchHub(
            self.store,
            history_limit=history_limit,
            history_seconds=history_seconds,
            queue_limit=watch_queue_limit,
        )
        self.faults = Faults(self.hub)
        self.crds = CustomResourceDefinitions(self.store, self.hub)
        self.simulator: Any | None = None
        self._bookmark_interval = bookmark_interval
        self._min_request_timeout = min_request_timeout
        self._with_controllers = controllers
        self._controllers: list[Controller] = []
        self._runner: web.AppRunner | None = None
        self._pending_service_accounts: set[str] = set()
        self._freezer = HeapFreezer() if freeze_heap else None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        await self.crds.start()
        self._bootstrap()
        self.store.add_listener(self._on_event)
        if self._with_controllers:
            await self._start_controllers()
        ctx = ApiContext(
            store=self.store,
            hub=self.hub,
            faults=self.faults,
            simulator=self.simulator,
            bookmark_interval=self._bookmark_interval,
            min_request_timeout=self._min_request_timeout,
        )
        runner = web.AppRunner(
            build_app(ctx), access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        if self.kubeconfig_path is not None:
            await asyncio.to_thread(write_kubeconfig, self.kubeconfig_path, self.url)
        if self._freezer is not None:
            self._freezer.start()
        log.info("kubesim serving at %s", self.url)

    async def stop(self) -> None:
        if self._freezer is not None:
            await self._freezer.stop()
        self.hub.close_all("server stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for controller in reversed(self._controllers):
            try:
                await controller.stop()
            except Exception:
                log.exception("stopping %r failed", controller)
        self._controllers.clear()
        await self.crds.stop()
        self.store.remove_listener(self._on_event)

    async def __aenter__(self) -> KubeSim:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------ internals

    def _bootstrap(self) -> None:
        for name in SYSTEM_NAMESPACES:
            if self.store.get(NAMESPACE_TYPE, None, name) is None:
                self.store.create(NAMESPACE_TYPE, {"metadata": {"name": name}})
                self._create_default_service_account(name)
        nodes = resource_type("", "v1", "nodes")
        if self.store.get(nodes, None, NODE_NAME) is None:
            self.store.create(nodes, _node())

    def _on_event(self, event: Event) -> None:
        # Listeners may not write to the store; create the ServiceAccount just after.
        if event.resource is NAMESPACE_TYPE and event.type == "ADDED":
            name = event.obj["metadata"]["name"]
            self._pending_service_accounts.add(name)
            asyncio.get_running_loop().call_soon(self._create_default_service_account, name)

    def _create_default_service_account(self, namespace: str) -> None:
        self._pending_service_accounts.discard(namespace)
        sa_type = resource_type("", "v1", "serviceaccounts")
        if self.store.get(sa_type, namespace, "default") is not None:
            return
        try:
            self.store.create(sa_type, {"metadata": {"name": "default", "namespace": namespace}})
        except ApiError as exc:  # namespace deleted or terminating meanwhile
            log.debug("default ServiceAccount for %s not created: %s", namespace, exc.message)

    async def _start_controllers(self) -> None:
        for factory in (self._garbage_collector, self._namespace_controller, self._simulator):
            controller = factory()
            if controller is None:
                continue
            await controller.start()
            self._controllers.append(controller)

    @staticmethod
    def _optional(module: str, attr: str) -> Any | None:
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            log.warning("kubesim runs without %s.%s: %s", module, attr, exc)
            return None

    def _garbage_collector(self) -> Controller | None:
        cls = self._optional("kubesim.controllers", "GarbageCollector")
        return None if cls is None else cls(self.store)

    def _namespace_controller(self) -> Controller | None:
        cls = self._optional("kubesim.controllers", "NamespaceController")
        return None if cls is None else cls(self.store)

    def _simulator(self) -> Controller | None:
        cls = self._optional("kubesim.sim", "Simulator")
        load_rules = self._optional("kubesim.sim.rules", "load_rules")
        if cls is None or load_rules is None:
            return None
        self.simulator = cls(self.store, load_rules(self.rules_path))
        return self.simulator
