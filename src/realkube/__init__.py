"""realkube: a real Kubernetes control plane (built by ``make kube``) with kwok nodes.

``RealKube`` starts and stops it from Python (async); ``realkube serve`` runs it as a command.
Pods behave like kubesim's simulated ones, driven by the same ``sim.kubesim.io/*`` annotations
and rules files (see :mod:`realkube.stages` and :mod:`realkube.kubelet`).
"""

from realkube.cluster import RealKube

__all__ = ["RealKube"]
