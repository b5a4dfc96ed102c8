"""Catalyst's Kubernetes adapter.

| module | job |
| --- | --- |
| ``client`` | ``ClusterClient``: kubernetes_asyncio config/auth/transport, JSON REST, streams |
| ``ratelimit`` | client-side token bucket (k8s-semantics A19) |
| ``retry`` | 429/5xx + ``Retry-After`` retry rule (A20) |
| ``discovery`` | ``ResourceInfo``, discovery parsing, object and collection paths |
| ``errors`` | ``ClusterError`` and its types (not found, conflict, gone, invalid, ...) |
| ``objects`` | ``ObjectRef``: inventory identity |
| ``labels`` | the labels stamped on applied objects and their templates (and ownership) |
| ``ordering`` | the apply order of kinds |
| ``hooks`` | Helm hooks: which objects are hooks, their phase, order and delete policies |
| ``scope`` | ``AllowedClusterKinds``: the cluster-scoped kinds an operator allows |
| ``ownership`` | reading, and deleting only what carries an environment's labels |
| ``deployer`` | ``Deployer``: apply (SSA), prune, delete; nothing leaves the namespace |
| ``reader`` | ``EnvironmentReader``: one environment's live objects (``latestStatus``) |
| ``logs`` | ``LogFollower``: wait for a container, follow its log |
"""

from __future__ import annotations

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.deployer import (
    FIELD_MANAGER,
    ClusterScopedObjectsRefused,
    Deployer,
    DeployError,
    DeployTarget,
    ForeignObjectsRefused,
    HookFailed,
    NamespaceDeletionTimeout,
)
from catalyst.cluster.discovery import ResourceInfo
from catalyst.cluster.errors import (
    ClusterConfigError,
    ClusterConflictError,
    ClusterConnectionError,
    ClusterError,
    ClusterGoneError,
    ClusterInvalidError,
    ClusterNotFoundError,
    ClusterProtocolError,
    ClusterTooManyRequestsError,
    UnknownResourceError,
)
from catalyst.cluster.hooks import ReleaseEvent
from catalyst.cluster.logs import (
    LogFollower,
    LogLine,
    LogSourceDeleted,
    LogStreamError,
    LogWaitTimeout,
)
from catalyst.cluster.ratelimit import DEFAULT_BURST, DEFAULT_QPS, TokenBucket
from catalyst.cluster.reader import EnvironmentReader, EnvironmentSnapshot, read_environment
from catalyst.cluster.scope import AllowedClusterKinds
from catalyst.domain.model import ObjectRef

__all__ = [
    "DEFAULT_BURST",
    "DEFAULT_QPS",
    "FIELD_MANAGER",
    "AllowedClusterKinds",
    "ClusterClient",
    "ClusterConfigError",
    "ClusterConflictError",
    "ClusterConnectionError",
    "ClusterError",
    "ClusterGoneError",
    "ClusterInvalidError",
    "ClusterNotFoundError",
    "ClusterProtocolError",
    "ClusterScopedObjectsRefused",
    "ClusterTooManyRequestsError",
    "DeployError",
    "DeployTarget",
    "Deployer",
    "EnvironmentReader",
    "EnvironmentSnapshot",
    "ForeignObjectsRefused",
    "HookFailed",
    "LogFollower",
    "LogLine",
    "LogSourceDeleted",
    "LogStreamError",
    "LogWaitTimeout",
    "NamespaceDeletionTimeout",
    "ObjectRef",
    "ReleaseEvent",
    "ResourceInfo",
    "TokenBucket",
    "UnknownResourceError",
    "read_environment",
]
