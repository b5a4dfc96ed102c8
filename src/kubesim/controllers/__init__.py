"""Cluster controllers kubesim runs beside the API: garbage collection and namespaces."""

from __future__ import annotations

from kubesim.controllers.gc import GarbageCollector
from kubesim.controllers.namespace import NamespaceController

__all__ = ["GarbageCollector", "NamespaceController"]
