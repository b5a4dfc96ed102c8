"""``Simulator``: the one entry point for kubesim's workload simulation.

Composes the kubelet and the workload controllers over one :class:`Store` and one
:class:`Rules`; ``start()`` starts every controller (each reconciles objects that already
exist), ``stop()`` stops them in reverse order and cancels their timers. ``logs`` serves
container logs for the ``pods/{name}/log`` handler.
"""

from __future__ import annotations

import logging

from kubesim.sim.clock import Clock
from kubesim.sim.controller import Controller
from kubesim.sim.cronjobs import CronJobController
from kubesim.sim.daemonsets import DaemonSetController
from kubesim.sim.deployments import DeploymentController
from kubesim.sim.jobs import JobController
from kubesim.sim.logs import ContainerLogs
from kubesim.sim.pods import Kubelet
from kubesim.sim.pvcs import PersistentVolumeClaimBinder
from kubesim.sim.replicasets import ReplicaSetController
from kubesim.sim.rules import Rules
from kubesim.sim.statefulsets import StatefulSetController
from kubesim.store import Store

log = logging.getLogger(__name__)


class Simulator:
    def __init__(
        self, store: Store, rules: Rules | None = None, *, clock: Clock | None = None
    ) -> None:
        self.store = store
        self.rules = rules or Rules()
        self.clock = clock or Clock()
        self.kubelet = Kubelet(store, self.rules, self.clock)
        self.controllers: list[Controller] = [
            self.kubelet,
            ReplicaSetController(store, self.clock),
            DeploymentController(store, self.clock),
            StatefulSetController(store, self.clock),
            DaemonSetController(store, self.clock),
            JobController(store, self.rules, self.clock),
            CronJobController(store, self.clock),
            PersistentVolumeClaimBinder(store, self.rules, self.clock),
        ]
        self.logs = ContainerLogs(store, self.kubelet, self.clock)
        self._started: list[Controller] = []

    async def start(self) -> None:
        for controller in self.controllers:
            await controller.start()
            self._started.append(controller)
        log.info("kubesim simulator started (%d controllers)", len(self._started))

    async def stop(self) -> None:
        while self._started:
            controller = self._started.pop()
            try:
                await controller.stop()
            except Exception:
                log.exception("kubesim %s failed to stop", controller.name)
        self.logs.close()
