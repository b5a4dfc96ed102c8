"""What every handler needs: the store, the watch hub, faults and settings.

One `ApiContext` per server, stored on the aiohttp application under
`CONTEXT_KEY`. The simulator is optional (``None`` until it exists) so the API
can run on its own in focused tests. ``registry`` is the server's own
`ResourceRegistry` (its store's): built-in kinds plus its CRDs' custom resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from kubesim.faults import Faults
from kubesim.resources import ResourceRegistry
from kubesim.store import Store
from kubesim.watch import WatchHub

# kube-apiserver's default --min-request-timeout; watches without timeoutSeconds
# last between 1x and 2x this (B9).
DEFAULT_MIN_REQUEST_TIMEOUT = 1800.0
DEFAULT_BOOKMARK_INTERVAL = 60.0


@dataclass
class ApiContext:
    store: Store
    hub: WatchHub
    faults: Faults
    simulator: Any | None = None  # kubesim.sim.Simulator once it exists
    bookmark_interval: float = DEFAULT_BOOKMARK_INTERVAL
    min_request_timeout: float = DEFAULT_MIN_REQUEST_TIMEOUT

    @property
    def registry(self) -> ResourceRegistry:
        return self.store.registry


CONTEXT_KEY: web.AppKey[ApiContext] = web.AppKey("kubesim_context", ApiContext)


def context_of(request: web.Request) -> ApiContext:
    return request.app[CONTEXT_KEY]
