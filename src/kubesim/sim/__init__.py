"""kubesim's workload simulator: a kwok-like kubelet and workload controllers.

Public entry points: :class:`Simulator` (compose, ``start``/``stop``, ``.logs``) and
:func:`load_rules` (validated rules file).
"""

from __future__ import annotations

from kubesim.sim.logs import ContainerLogs
from kubesim.sim.rules import Rules, RulesError, load_rules, parse_rules
from kubesim.sim.simulator import Simulator

__all__ = ["ContainerLogs", "Rules", "RulesError", "Simulator", "load_rules", "parse_rules"]
