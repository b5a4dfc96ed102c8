"""kubesim's HTTP layer: the Kubernetes API (discovery, CRUD, watch, logs), /kubesim/* controls."""

from __future__ import annotations

from kubesim.api.app import build_app
from kubesim.api.context import ApiContext

__all__ = ["ApiContext", "build_app"]
