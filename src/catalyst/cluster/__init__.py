"""Catalyst's Kubernetes adapter.

| module | job |
| --- | --- |
| ``client`` | ``ClusterClient``: kubernetes_asyncio config/auth/transport, JSON REST, streams |
| ``ratelimit`` | client-side token bucket (k8s-semantics A19) |
| ``retry`` | 429/5xx + ``Retry-After`` retry rule (A20) |
| ``discovery`` | ``ResourceInfo``, discovery parsing, object and collection paths |
| ``errors`` | ``ClusterError`` (from ``Status`` bodies) and friends |
| ``objects`` | ``ObjectRef``: inventory identity |
| ``labels`` | the labels stamped on applied objects and their templates |
| ``ordering`` | the apply order of kinds |
| ``deployer`` | ``Deployer``: apply (SSA), prune, delete an environment's namespace |
| ``reader`` | ``EnvironmentReader``: one environment's live objects (``latestStatus``) |
| ``logs`` | ``LogFollower``: wait for a container, follow its log |
"""

from __future__ import annotations

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.deployer import (
    FIELD_MANAGER,
    Deployer,
    DeployError,
    DeployTarget,
    NamespaceDeletionTimeout,
)
from catalyst.cluster.discovery import ResourceInfo
from catalyst.cluster.errors import (
    ClusterConfigError,
    ClusterConnectionError,
    ClusterError,
    UnknownResourceError,
)
from catalyst.cluster.logs import LogFollower, LogLine, LogStreamError, LogWaitTimeout
from catalyst.cluster.ratelimit import DEFAULT_BURST, DEFAULT_QPS, TokenBucket
from catalyst.cluster.reader import EnvironmentReader, EnvironmentSnapshot, read_environment
from catalyst.domain.model import ObjectRef

__all__ = [
    "DEFAULT_BURST",
    "DEFAULT_QPS",
    "FIELD_MANAGER",
    "ClusterClient",
    "ClusterConfigError",
    "ClusterConnectionError",
    "ClusterError",
    "DeployError",
    "DeployTarget",
    "Deployer",
    "EnvironmentReader",
    "EnvironmentSnapshot",
    "LogFollower",
    "LogLine",
    "LogStreamError",
    "LogWaitTimeout",
    "NamespaceDeletionTimeout",
    "ObjectRef",
    "ResourceInfo",
    "TokenBucket",
    "UnknownResourceError",
    "read_environment",
]
