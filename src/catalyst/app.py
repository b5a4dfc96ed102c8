"""The composition root: builds every part of Catalyst from `Settings` and runs it.

`Catalyst.start` brings the parts up in dependency order and `Catalyst.stop` takes them
down in reverse (an `AsyncExitStack` records what actually started, so a failure half-way
through start still stops what was started):

1. the data directory, then the database (migrated to head on connect);
2. the cluster: with no kubeconfig and not in-cluster, an embedded kubesim (rules: the
   embedded rules unless KUBESIM_RULES says otherwise) whose kubeconfig is written to
   DATA_DIR; then one `ClusterClient` per purpose (`ClusterPools`), each with its own
   connection pool and rate limiter, so that no kind of work can starve another of
   connections: client-driven work (API reads, deploys, readiness), log follows (bounded:
   two connections per allowed stream), the watcher, and leader election;
3. charts (catalogue + Helm renderer), the deployer, the use cases (stopping them stops
   the environment listing's cache and its refresh task);
4. the `OperationRunner`, which resumes every pending operation;
5. the leader election: a background task competes for the Lease and, while this replica
   holds it, runs the watcher, the reaper and the heartbeat (`LeaderDuties`); on stop the
   Lease is released so another replica takes over at once;
6. the FastAPI app (``self.app``), ready for a server.

`serve` runs that inside one asyncio loop with uvicorn as a programmatic server, handling
SIGINT/SIGTERM itself so shutdown always runs `Catalyst.stop` (uvicorn's own handlers
would re-raise the signal after the server stops and skip it). `server_config` is how
uvicorn is configured, including the header and body read timeouts for slow clients
(`catalyst.http_protocol`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable, Generator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from sse_starlette.sse import AppStatus

from catalyst.api.app import create_app
from catalyst.api.dependencies import ApiServices
from catalyst.api.http_protocol import ErrorShapeBadRequests
from catalyst.api.presenters import environment_out
from catalyst.cancellation import cancel_and_wait
from catalyst.charts import ChartCatalogue, HelmRenderer, bundled_charts_dir
from catalyst.cluster import ClusterClient, Deployer, EnvironmentReader, LogFollower
from catalyst.cluster.leader_election import LeaderElector, default_identity
from catalyst.config import Settings
from catalyst.embedded import KUBESIM_RULES
from catalyst.gc_policy import apply_service_gc_policy
from catalyst.http_protocol import timed_h11_protocol
from catalyst.leader.duties import LeaderDuties, LeaderSettings
from catalyst.service.charts import ChartService
from catalyst.service.environment_feed import EnvironmentFeed
from catalyst.service.environments import EnvironmentService
from catalyst.service.freshness import heartbeat_freshness
from catalyst.service.history import EnvironmentHistory
from catalyst.service.logs import LogService
from catalyst.service.operations import EnvironmentOperations
from catalyst.service.preflight import RenderPreflight
from catalyst.service.runner import OperationRunner
from catalyst.service.status import StatusService
from catalyst.service.tokens import TokenService
from catalyst.service.webhook_delivery import DeliverySettings, WebhookDelivery
from catalyst.service.webhook_messages import RetrySchedule
from catalyst.service.webhook_urls import WebhookUrlPolicy
from catalyst.service.webhooks import WebhookService
from catalyst.store.database import Database, redact_url
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.heartbeat import HeartbeatRepository
from catalyst.store.operation_claims import OperationClaims
from catalyst.store.tokens import TokenRepository
from catalyst.store.webhooks import WebhookRepository
from kubesim.server import KubeSim

logger = logging.getLogger(__name__)

_SHUTDOWN_GRACE = 5
# Each informer holds one watch; the rest is room for relists and the watcher's reads.
_WATCHER_CONNECTIONS = 32
# One Lease request at a time, and a spare for a request that outlives its deadline.
_LEASE_CONNECTIONS = 2


@dataclass(frozen=True, slots=True)
class ClusterPools:
    """One client (connection pool and rate limiter) per kind of cluster work.

    Leader election and the watcher never share a pool with work that clients can cause,
    so no number of requests or streams can keep the leader from renewing its Lease or
    the watcher from watching.
    """

    api: ClusterClient
    """Client-driven work: ``?latestStatus=1`` reads, deploys and deletes, ``/readyz``."""
    logs: ClusterClient
    """Log follows; two connections per stream allowed by MAX_LOG_STREAMS."""
    watcher: ClusterClient
    """The leader's informers."""
    leases: ClusterClient
    """Leader election."""


class Catalyst:
    """One Catalyst process: its parts, started and stopped in order."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.identity = settings.instance_id or default_identity()
        """This replica's name in the Lease and on the operations it claims."""
        self._stack = AsyncExitStack()
        self.database: Database | None = None
        self.kubesim: KubeSim | None = None
        self.kubeconfig: Path | None = None
        self.cluster: ClusterClient | None = None
        """The client-driven pool (`ClusterPools.api`)."""
        self.pools: ClusterPools | None = None
        self.runner: OperationRunner | None = None
        self.services: ApiServices | None = None
        self.elector: LeaderElector | None = None
        self.duties: LeaderDuties | None = None
        self._app: FastAPI | None = None

    @property
    def app(self) -> FastAPI:
        if self._app is None:
            raise RuntimeError("Catalyst is not started")
        return self._app

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise

    async def stop(self) -> None:
        """Stop every started part, in reverse order. Safe to call twice."""
        await self._stack.aclose()
        logger.info("catalyst stopped")

    async def _start(self) -> None:
        settings = self.settings
        await asyncio.to_thread(settings.data_dir.mkdir, parents=True, exist_ok=True)

        database = Database(settings.resolved_database_url())
        await database.connect()
        self._stack.push_async_callback(database.close)
        self.database = database

        cluster = await self._connect_cluster()
        pools = ClusterPools(
            api=cluster,
            logs=self._own_pool(cluster, max_connections=2 * settings.max_log_streams),
            watcher=self._own_pool(cluster, max_connections=_WATCHER_CONNECTIONS),
            leases=self._own_pool(cluster, max_connections=_LEASE_CONNECTIONS),
        )
        self.cluster = cluster
        self.pools = pools

        environments = EnvironmentRepository(database)
        tokens = TokenService(TokenRepository(database))
        charts_dir = Path(settings.charts_dir) if settings.charts_dir else bundled_charts_dir()
        charts = ChartService(ChartCatalogue(charts_dir))
        thresholds = settings.status_thresholds()
        # One renderer and one deployer: the request path's preflight shares their bounds.
        renderer = HelmRenderer(max_concurrent_renders=settings.max_concurrent_operations)
        deployer = Deployer(
            cluster,
            allowed_cluster_kinds=settings.cluster_kind_allowlist(),
            hook_timeout=settings.hook_timeout,
        )
        operations = EnvironmentOperations(
            environments=environments,
            charts=charts,
            renderer=renderer,
            deployer=deployer,
            thresholds=thresholds,
            delete_timeout=settings.delete_timeout,
        )

        async def cluster_answers() -> None:
            await cluster.request("GET", "/version")

        runner = OperationRunner(
            operations,
            max_concurrency=settings.max_concurrent_operations,
            cluster_reachable=cluster_answers,
            claims=OperationClaims(
                database,
                holder=self.identity,
                ttl=timedelta(seconds=settings.operation_claim_seconds),
            ),
            sweep_interval=settings.operation_sweep_seconds,
        )
        status = StatusService(
            environments=environments, reader=EnvironmentReader(cluster), thresholds=thresholds
        )
        heartbeats = HeartbeatRepository(database)
        freshness = heartbeat_freshness(
            heartbeats, stale_after_seconds=settings.status_stale_timeout
        )
        environment_service = EnvironmentService(
            preflight=RenderPreflight(charts=charts, renderer=renderer, deployer=deployer),
            environments=environments,
            charts=charts,
            runner=runner,
            status=status,
            freshness=freshness,
        )
        # Owns the listing cache's refresh task: stopped before the database closes.
        self._stack.push_async_callback(environment_service.aclose)
        feed = EnvironmentFeed(
            environments=environments,
            poll_interval=settings.watch_poll_seconds,
            max_lag=settings.watch_max_lag,
            freshness=freshness,
        )
        self._stack.push_async_callback(feed.aclose)  # the watch stream's poller
        logs = LogService(
            environment_service,
            LogFollower(pools.logs),
            wait_timeout=settings.log_wait_timeout,
            max_streams=settings.max_log_streams,
            max_streams_per_token=settings.max_log_streams_per_token,
        )

        webhooks = WebhookRepository(database)
        webhook_policy = WebhookUrlPolicy.from_setting(settings.webhook_allowed_networks)

        async def database_ready() -> None:
            async with database.read() as connection:
                await connection.exec_driver_sql("SELECT 1")

        self.services = ApiServices(
            tokens=tokens,
            environments=environment_service,
            charts=charts,
            logs=logs,
            history=EnvironmentHistory(environments=environments),
            feed=feed,
            readiness_checks={"database": database_ready, "cluster": cluster_answers},
            sse_heartbeat_seconds=settings.sse_heartbeat_seconds,
            watch_stream_timeout_seconds=settings.watch_stream_timeout_seconds,
            watch_send_timeout_seconds=settings.watch_send_timeout_seconds,
            webhooks=WebhookService(
                webhooks=webhooks,
                policy=webhook_policy,
                max_per_token=settings.max_webhooks_per_token,
            ),
        )
        await runner.start()
        self._stack.push_async_callback(runner.stop)
        self.runner = runner
        await self._start_leader_election(
            pools.leases,
            LeaderDuties(
                client=pools.watcher,
                environments=environments,
                environment_service=environment_service,
                status=status,
                heartbeats=heartbeats,
                thresholds=thresholds,
                identity=self.identity,
                settings=leader_settings(settings),
                # The API's presenter: a webhook's environment is GET /api/environments/{id}'s.
                webhooks=WebhookDelivery(
                    webhooks=webhooks,
                    environments=environments,
                    feed=feed,
                    render_environment=environment_out,
                    policy=webhook_policy,
                    settings=webhook_delivery_settings(settings),
                ),
            ),
        )
        self._app = create_app(self.services, max_body_bytes=settings.max_body_bytes)
        logger.info(
            "catalyst started: database %s, cluster %s, charts %s",
            redact_url(settings.resolved_database_url()),
            cluster.host,
            charts_dir,
        )

    async def _start_leader_election(self, cluster: ClusterClient, duties: LeaderDuties) -> None:
        settings = self.settings
        elector = LeaderElector(
            cluster,
            namespace=settings.lease_namespace,
            name=settings.lease_name,
            identity=self.identity,
            lease_duration=settings.lease_duration,
            renew_deadline=settings.lease_renew_deadline,
            retry_period=settings.lease_retry_period,
        )
        task = asyncio.create_task(elector.run(duties.run), name="leader election")

        async def stop_election() -> None:
            # Cancelling run() stops the duties first, then releases the Lease. Our own
            # cancellation propagates; the election's failure is reported, not raised.
            for error in await cancel_and_wait([task]):
                logger.error("leader election ended with an error", exc_info=error)

        def report(done: asyncio.Task[None]) -> None:
            if not done.cancelled() and done.exception() is not None:
                logger.error("leader election stopped: %r", done.exception())

        task.add_done_callback(report)
        self._stack.push_async_callback(stop_election)
        self.elector = elector
        self.duties = duties
        logger.info(
            "competing for Lease %s/%s as %s",
            settings.lease_namespace,
            settings.lease_name,
            elector.identity,
        )

    def _own_pool(self, cluster: ClusterClient, *, max_connections: int) -> ClusterClient:
        client = cluster.with_own_pool(max_connections=max_connections)
        self._stack.push_async_callback(client.close)
        return client

    async def _connect_cluster(self) -> ClusterClient:
        settings = self.settings
        if settings.in_cluster:
            client = await ClusterClient.in_cluster(
                qps=settings.kube_qps, burst=settings.kube_burst
            )
        else:
            if settings.uses_embedded_cluster():
                kubeconfig = settings.embedded_kubeconfig_path()
                rules = Path(settings.kubesim_rules) if settings.kubesim_rules else KUBESIM_RULES
                kubesim = KubeSim(
                    host="127.0.0.1",
                    port=settings.kubesim_port,
                    kubeconfig=kubeconfig,
                    rules=rules,
                )
                await kubesim.start()
                self._stack.push_async_callback(kubesim.stop)
                self.kubesim = kubesim
                logger.info("embedded kubesim at %s, kubeconfig %s", kubesim.url, kubeconfig)
            else:
                kubeconfig = Path(settings.kubeconfig)
            self.kubeconfig = kubeconfig
            client = await ClusterClient.from_kubeconfig(
                kubeconfig,
                settings.kube_context or None,
                qps=settings.kube_qps,
                burst=settings.kube_burst,
            )
        self._stack.push_async_callback(client.close)
        return client


def leader_settings(settings: Settings) -> LeaderSettings:
    """Timings of the leader's watcher, reaper and heartbeat, from the settings."""
    return LeaderSettings(
        resync_period=settings.watcher_resync_seconds,
        poll_interval=settings.watcher_poll_seconds,
        heartbeat_interval=settings.watcher_heartbeat_seconds,
        reaper_interval=settings.reaper_interval_seconds,
        max_backoff=settings.watch_max_backoff_seconds,
        min_watch_timeout=settings.watch_timeout_seconds,
        use_watch_list=settings.watch_list,
    )


def webhook_delivery_settings(settings: Settings) -> DeliverySettings:
    """Timeouts, concurrency and the retry schedule of webhook deliveries."""
    return DeliverySettings(
        timeout=settings.webhook_timeout_seconds,
        max_concurrent=settings.webhook_max_concurrent_deliveries,
        schedule=RetrySchedule(
            first_delay=timedelta(seconds=settings.webhook_first_retry_seconds),
            max_delay=timedelta(seconds=settings.webhook_max_retry_seconds),
            disable_after=timedelta(seconds=settings.webhook_disable_after_seconds),
        ),
        refresh_interval=settings.webhook_refresh_seconds,
    )


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling (we handle signals in `serve`)."""

    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def server_config(app: Any, settings: Settings) -> uvicorn.Config:
    """How ``catalyst serve`` runs uvicorn around ``app`` (an ASGI application)."""
    return uvicorn.Config(
        app,
        log_config=None,
        lifespan="off",
        timeout_graceful_shutdown=_SHUTDOWN_GRACE,
        access_log=False,
        http=timed_h11_protocol(
            ErrorShapeBadRequests,
            header_timeout=settings.http_header_timeout,
            body_timeout=settings.http_body_timeout,
        ),
        ws="none",  # Catalyst serves no WebSockets
    )


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0: a free port), so the URL is known before serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says TCP, and without it Nagle's algorithm plus the client's delayed
    # ACK adds ~40 ms to every keep-alive request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


async def serve(
    settings: Settings, *, announce: Callable[[Catalyst, str], None] | None = None
) -> None:
    """Run Catalyst until SIGINT/SIGTERM, then shut down cleanly."""
    catalyst = Catalyst(settings)
    await catalyst.start()
    apply_service_gc_policy()
    sock = bind_socket(settings.host, settings.port)
    try:
        host, port = sock.getsockname()[:2]
        url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
        server = _Server(server_config(catalyst.app, settings))
        loop = asyncio.get_running_loop()

        def request_exit(signum: int) -> None:
            logger.info("received %s; shutting down", signal.Signals(signum).name)
            if server.should_exit:
                server.force_exit = True
            server.should_exit = True
            # Open SSE streams end now instead of holding the shutdown for the grace
            # period (sse-starlette cannot see our signal handler; one server per process).
            AppStatus.should_exit = True

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, request_exit, signum)
        try:
            if announce is not None:
                announce(catalyst, url)
            await server.serve(sockets=[sock])
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
    finally:
        sock.close()
        await catalyst.stop()
