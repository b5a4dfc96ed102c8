"""Catalyst's one settings object, read from the environment (prefix ``CATALYST_``).

Every field is documented where it is declared; ``catalyst serve --help`` and the README
table are generated from the same docstrings. Guarantees and awkward cases:

- Paths are resolved at the point of use, not at import: ``DATA_DIR`` may be relative to the
  working directory of ``catalyst serve`` (default ``./var``).
- An empty ``DATABASE_URL`` means "a SQLite file inside DATA_DIR"; an empty ``KUBECONFIG``
  with ``IN_CLUSTER=false`` means "start the embedded kubesim and write its kubeconfig into
  DATA_DIR". Both defaults are computed by methods, so changing ``DATA_DIR`` moves them.
- Durations are seconds (floats), so tests can set them to fractions of a second instead of
  sleeping.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from catalyst.cluster.scope import AllowedClusterKinds
from catalyst.domain import StatusThresholds
from catalyst.service.webhook_urls import parse_networks
from catalyst.store.database import sqlite_url_for

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Settings(BaseSettings):
    """Runtime configuration of one Catalyst process."""

    model_config = SettingsConfigDict(
        env_prefix="CATALYST_",
        use_attribute_docstrings=True,
        extra="ignore",
        frozen=True,
    )

    data_dir: Path = Path("./var")
    """Directory for local state: the default SQLite file and the embedded kubesim's
    kubeconfig. Created at start if missing."""

    database_url: str = ""
    """SQLAlchemy async URL (``sqlite+aiosqlite:///…``, ``postgresql+asyncpg://…``,
    ``mysql+aiomysql://…``). Empty: a SQLite file ``catalyst.db`` in DATA_DIR."""

    kubeconfig: str = ""
    """Path of the kubeconfig for the cluster. Empty and IN_CLUSTER false: Catalyst starts
    an embedded kubesim and writes its kubeconfig to ``DATA_DIR/kubesim.kubeconfig``."""

    kube_context: str = ""
    """Context to use from KUBECONFIG. Empty: the kubeconfig's current context."""

    in_cluster: bool = False
    """Use the pod's service account (in-cluster config) instead of a kubeconfig."""

    charts_dir: str = ""
    """Directory of Helm charts offered by the API. Empty: the charts bundled with
    Catalyst."""

    host: str = "127.0.0.1"
    """Address the HTTP API listens on."""

    port: int = Field(default=8000, ge=0, le=65535)
    """Port the HTTP API listens on (0: a free port, printed at start)."""

    kubesim_port: int = Field(default=0, ge=0, le=65535)
    """Port of the embedded kubesim (0: a free port)."""

    kubesim_rules: str = ""
    """Workload-simulator rules file for the embedded kubesim. Empty: the rules shipped with
    Catalyst."""

    max_concurrent_operations: int = Field(default=4, ge=1)
    """How many create/rebuild/delete operations run at the same time. Operations on one
    environment always run one after another."""
    operation_claim_seconds: float = Field(default=15.0, ge=1)
    """How long a replica's claim on a pending operation lasts without renewal (renewed
    every third of it while the operation runs). When a replica dies mid-operation, another
    one takes the operation over after this plus up to one sweep interval."""
    operation_sweep_seconds: float = Field(default=5.0, gt=0)
    """How often each replica looks for pending operations that no replica holds."""

    kube_qps: float = Field(default=20.0, gt=0)
    """Sustained rate of Kubernetes API requests per second (client-side throttle)."""

    kube_burst: int = Field(default=40, ge=1)
    """Burst allowance above KUBE_QPS."""

    log_level: LogLevel = "INFO"
    """Log level of the ``catalyst`` loggers."""

    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    """Largest accepted request body (bytes); larger bodies get 413 before parsing."""

    http_header_timeout: float = Field(default=10.0, gt=0)
    """Seconds a client has to send a request's line and headers, counted from the
    connection (or from the end of the previous answer on a kept-alive connection). Later:
    408 and the connection is closed."""

    http_body_timeout: float = Field(default=30.0, gt=0)
    """Seconds a client has to send a request's whole body once its headers arrived. Later:
    408 and the connection is closed."""

    sse_heartbeat_seconds: float = Field(default=15.0, gt=0)
    """Interval of the SSE heartbeat comment on log streams and watch streams (on a watch
    stream it says `watcher=fresh` or `watcher=stale`)."""
    watch_stream_timeout_seconds: float = Field(default=1800.0, gt=0)
    """A watch stream (`GET /api/environments?watch=1`) ends once it has lasted this many
    seconds (when no change is waiting to be sent); clients resume with `Last-Event-ID`, as
    Kubernetes watches end after their timeout."""
    watch_poll_seconds: float = Field(default=0.05, gt=0)
    """How often each replica reads new rows of the status-change outbox for its watch
    streams (one indexed query; only once a watch has started). Bounds the added latency."""
    watch_max_lag: int = Field(default=10_000, ge=1)
    """A watch stream that had caught up and then falls more than this many changes behind
    the newest one ends; the client resumes with `Last-Event-ID`."""
    watch_send_timeout_seconds: float = Field(default=30.0, gt=0)
    """A watch stream whose client has not taken a pending event for this long (it stopped
    reading) is disconnected; the client resumes with `Last-Event-ID`."""

    log_wait_timeout: float = Field(default=900.0, gt=0)
    """How long a log stream waits for its pod and container to start before it ends."""

    max_log_streams: int = Field(default=100, ge=1)
    """Log streams one replica serves at once, all tokens together; more get 429. Log
    follows have their own pool of twice as many connections to the cluster."""

    max_log_streams_per_token: int = Field(default=20, ge=1)
    """Log streams one API token may have open at once on one replica; more get 429."""

    delete_timeout: float = Field(default=600.0, gt=0)
    """Seconds to wait for an environment's namespace to disappear on delete."""

    hook_timeout: float = Field(default=300.0, gt=0)
    """Seconds one Helm hook of a create or rebuild may take (its previous copy deleted,
    applied, and, for a Job or Pod, finished; Helm's default). Later, or when the hook
    fails, the environment fails naming the hook, and nothing after it is applied."""

    allowed_cluster_kinds: str = ""
    """Cluster-scoped kinds a chart may create, comma-separated: ``Kind`` (in any API group)
    or ``Kind.group``, e.g. ``ClusterRole,StorageClass.storage.k8s.io``. Empty: a render with
    any cluster-scoped object is refused and nothing of it is applied. Objects of allowed
    kinds carry the environment's labels and are deleted with it; like every object, one
    that already exists without those labels is never adopted."""

    # Status thresholds (status-spec.md §6.3); the names follow the spec's abbreviations.
    status_unschedulable_timeout: float = Field(default=300.0, gt=0)
    """UNSCHED: a pod unschedulable this long fails its workload."""
    status_image_pull_timeout: float = Field(default=300.0, gt=0)
    """IMAGE: a container in ErrImagePull/ImagePullBackOff this long fails."""
    status_config_error_timeout: float = Field(default=120.0, gt=0)
    """CONFIG: a container in CreateContainerConfigError (and similar) this long fails."""
    status_crash_restarts: int = Field(default=3, ge=1)
    """CRASH_N: restarts in one crash-loop episode that fail a container."""
    status_crash_timeout: float = Field(default=300.0, gt=0)
    """CRASH_T: a continuous CrashLoopBackOff this long fails a container."""
    status_crash_window: float = Field(default=600.0, gt=0)
    """CRASH_WINDOW: restarts count toward CRASH_N until a container has been Ready this long
    without a restart (kubelet's back-off reset), so short Ready runs never reset the count."""
    status_missing_timeout: float = Field(default=120.0, gt=0)
    """MISSING: grace for an inventory object that disappeared."""
    status_blip_timeout: float = Field(default=60.0, ge=0)
    """BLIP: how long a running environment may look not-ready before it shows starting."""
    status_create_timeout: float = Field(default=1800.0, gt=0)
    """CREATE_TIMEOUT: creation that has not reached running after this long fails."""
    status_rebuild_timeout: float = Field(default=1800.0, gt=0)
    """REBUILD_TIMEOUT: a rebuild that has not reached running after this long fails."""
    status_notready_timeout: float = Field(default=900.0, gt=0)
    """NOTREADY_TIMEOUT: a steady environment not running for this long fails."""
    status_stale_timeout: float = Field(default=120.0, gt=0)
    """STALE: watch data older than this marks environments stale."""
    status_expiry: float = Field(default=3 * 24 * 3600.0, gt=0)
    """EXPIRY: how long a creation failure is kept before the reaper deletes it."""

    # The watcher and the reaper run on one replica: the holder of a Lease.
    lease_namespace: str = "default"
    """Namespace of the coordination.k8s.io Lease that elects the leader replica."""
    lease_name: str = "catalyst-leader"
    """Name of that Lease."""
    lease_duration: float = Field(default=10.0, gt=1)
    """Seconds a leader's claim lasts without renewal. A dead leader is replaced after this
    plus up to two retry periods (about 13.6 s with the defaults; client-go's 15 s would
    exceed the 15 s takeover Catalyst promises)."""
    lease_renew_deadline: float = Field(default=7.0, gt=1)
    """Seconds the leader may fail to renew before it stops acting as leader."""
    lease_retry_period: float = Field(default=1.5, gt=0)
    """Seconds between renewals (leader) and attempts to acquire (others), with jitter."""
    instance_id: str = ""
    """This replica's identity in the Lease (default: hostname and a random suffix)."""
    watcher_resync_seconds: float = Field(default=60.0, gt=0)
    """Every environment is re-evaluated at least this often (a safety net)."""
    watcher_poll_seconds: float = Field(default=1.0, gt=0)
    """How often the leader checks the database for environments changed by any replica."""
    watcher_heartbeat_seconds: float = Field(default=5.0, gt=0)
    """How often the leader records how fresh its cluster data is."""
    watch_timeout_seconds: int = Field(default=300, ge=1)
    """Minimum watch duration asked of the API server (client-go: 5 min, randomised to 2x)."""
    watch_max_backoff_seconds: float = Field(default=2.0, ge=0.8)
    """Cap of the informers' retry backoff. client-go uses 30 s; Catalyst runs a handful of
    informers, so it retries sooner and statuses recover within seconds of an outage."""
    watch_list: bool = True
    """Sync informers with streaming lists (watch with sendInitialEvents, KEP-3157), as
    client-go does by default from 1.35; servers that refuse it get list+watch instead."""
    reaper_interval_seconds: float = Field(default=30.0, gt=0)
    """How often the leader looks for expired creation failures to delete."""

    # Webhooks (Standard Webhooks deliveries of status changes; delivered by the leader).
    webhook_allowed_networks: str = ""
    """Private networks webhooks may target, comma-separated CIDRs (``10.0.0.0/8,fd00::/8``).
    Empty: loopback, link-local, private and other internal addresses are refused, so a
    webhook cannot be used to reach the cluster's internal services."""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    """Seconds one delivery request may take (connect to answer); later it counts as failed."""
    webhook_max_concurrent_deliveries: int = Field(default=16, ge=1)
    """Delivery requests in flight at once, all webhooks together (one per webhook)."""
    webhook_first_retry_seconds: float = Field(default=5.0, gt=0)
    """Delay before the first retry of a failed delivery; it doubles with each failure (with
    jitter: between half and all of it), up to WEBHOOK_MAX_RETRY_SECONDS."""
    webhook_max_retry_seconds: float = Field(default=3600.0, gt=0)
    """Longest delay between two attempts of a failing delivery."""
    webhook_disable_after_seconds: float = Field(default=86400.0, gt=0)
    """A webhook whose deliveries have all failed for this long is disabled (and shown so)."""
    webhook_refresh_seconds: float = Field(default=2.0, gt=0)
    """How often the leader re-reads the list of webhooks (new ones start within this)."""
    max_webhooks_per_token: int = Field(default=20, ge=1)
    """Webhooks one API token may have."""

    def resolved_database_url(self) -> str:
        """The database URL to connect to (the SQLite default lives in DATA_DIR)."""
        if self.database_url:
            return self.database_url
        return sqlite_url_for(self.data_dir)

    def uses_embedded_cluster(self) -> bool:
        """True when Catalyst must start its own kubesim (no kubeconfig, not in-cluster)."""
        return not self.kubeconfig and not self.in_cluster

    @field_validator("allowed_cluster_kinds")
    @classmethod
    def _check_allowed_cluster_kinds(cls, value: str) -> str:
        AllowedClusterKinds.parse(value)  # a malformed entry stops the service at start
        return value

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _check_webhook_networks(cls, value: str) -> str:
        parse_networks(value)  # a malformed CIDR stops the service at start
        return value

    def cluster_kind_allowlist(self) -> AllowedClusterKinds:
        """The parsed ALLOWED_CLUSTER_KINDS."""
        return AllowedClusterKinds.parse(self.allowed_cluster_kinds)

    def embedded_kubeconfig_path(self) -> Path:
        """Where the embedded kubesim writes its kubeconfig."""
        return (self.data_dir / "kubesim.kubeconfig").resolve()

    def status_thresholds(self) -> StatusThresholds:
        """The domain's thresholds built from the STATUS_* settings."""
        return StatusThresholds(
            unsched=timedelta(seconds=self.status_unschedulable_timeout),
            image=timedelta(seconds=self.status_image_pull_timeout),
            config=timedelta(seconds=self.status_config_error_timeout),
            crash_n=self.status_crash_restarts,
            crash_t=timedelta(seconds=self.status_crash_timeout),
            crash_window=timedelta(seconds=self.status_crash_window),
            missing=timedelta(seconds=self.status_missing_timeout),
            blip=timedelta(seconds=self.status_blip_timeout),
            create_timeout=timedelta(seconds=self.status_create_timeout),
            rebuild_timeout=timedelta(seconds=self.status_rebuild_timeout),
            notready_timeout=timedelta(seconds=self.status_notready_timeout),
            stale=timedelta(seconds=self.status_stale_timeout),
            expiry=timedelta(seconds=self.status_expiry),
        )


def settings_markdown_table() -> str:
    """The settings as a Markdown table (variable, default, meaning) for the README."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "(empty)" if default in ("", None) else f"`{default}`"
        description = " ".join((field.description or "").split())
        rows.append(f"| `CATALYST_{name.upper()}` | {shown} | {description} |")
    return "\n".join(rows)
