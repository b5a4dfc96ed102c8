"""Leader election over a ``coordination.k8s.io/v1`` Lease, following client-go's scheme.

Several ``catalyst serve`` replicas share one database and one cluster. All of them serve
the API; only the holder of one Lease runs the watcher and the reaper. :class:`LeaderElector`
decides which replica that is, the way client-go's ``tools/leaderelection`` does.

Usage (the owner runs ``run`` as a task and cancels it at shutdown)::

    elector = LeaderElector(client, namespace="catalyst", name="catalyst-leader")
    task = asyncio.create_task(elector.run(run_watcher_and_reaper, on_stopped_leading))
    elector.is_leader        # whether this replica acts as leader right now
    elector.leader_identity  # the holder last observed, or None

``run(on_started_leading, on_stopped_leading=None)`` calls ``on_started_leading()`` as a
task at the start of each term and cancels it when the term ends; leader-only work must
live inside that task. ``clock`` (default ``time.monotonic``) is the monotonic clock that
expiry and deadlines are judged by; tests inject their own.

The scheme:

- **The record.** ``Lease.spec`` holds the leader election record: ``holderIdentity``,
  ``leaseDurationSeconds``, ``acquireTime``, ``renewTime`` (MicroTime, RFC 3339 with
  microseconds, UTC) and ``leaseTransitions`` (+1 each time the holder changes). Other
  ``spec`` fields are kept as they are.
- **Expiry is judged on the local monotonic clock.** A candidate notes *when it observed*
  the record last change (``observed_time``) and treats the lease as expired once
  ``leaseDurationSeconds`` (the holder's own promise, from the record) have passed on its
  own clock since then. The timestamps inside the record are informational only and are
  never compared with the local wall clock, so clock skew between nodes cannot make a
  live leader look dead. The price: a candidate that starts up next to an expired lease
  still waits one full lease duration before taking it over.
- **Optimistic concurrency.** An absent Lease is created (``409 AlreadyExists``: another
  candidate won); an existing one is replaced with a PUT carrying the observed
  ``resourceVersion`` (``409 Conflict``: another candidate wrote first, retry later). The
  leader renews with its cached object directly (client-go's fast path) and falls back to
  GET + PUT when that fails.
- **Timing** (kube-controller-manager defaults): ``lease_duration`` 15 s, ``renew_deadline``
  10 s, ``retry_period`` 2 s. A candidate retries every ``retry_period`` stretched by a
  random factor of up to :data:`JITTER_FACTOR` (1.2), so replicas do not march in step; the
  leader renews every ``retry_period``. The constructor rejects settings client-go rejects
  (``lease_duration > renew_deadline > 1.2 * retry_period > 0``).
- **Stepping down before anyone may take over.** The leader's deadline is
  ``renew_deadline`` after it *sent* its last successful renewal, and every request is cut
  off at that deadline. A follower cannot see that renewal before it was sent, and waits
  ``leaseDurationSeconds`` (the ceiling of ``lease_duration``, > ``renew_deadline``) from
  seeing it, so the leader stops (``is_leader`` turns False and its work task is
  cancelled) at least ``lease_duration - renew_deadline`` before a successor can acquire.
  This is stricter than client-go, whose deadline starts one retry period later. A leader
  that observes another holder in the record steps down at once.
- **Release on cancel.** When :meth:`LeaderElector.run` is cancelled while leading, the
  work task is cancelled and awaited first, then (``release_on_cancel=True``, the default)
  the record is rewritten with an empty ``holderIdentity`` and ``leaseDurationSeconds: 1``
  so a successor takes over at its next retry instead of waiting out the lease.

Unlike client-go, which returns after losing the lease (the process is expected to exit),
:meth:`LeaderElector.run` goes back to being a candidate: a web replica keeps serving and
may lead again later. It returns only by being cancelled.

Failure cases and awkward corners:

- API errors (5xx, connection failures, timeouts) are logged and retried; they never end
  :meth:`~LeaderElector.run`. A leader that cannot renew within ``renew_deadline`` steps
  down, then competes again after a jittered ``retry_period``.
- ``on_started_leading`` runs as a task for the whole term and should run until
  cancelled. If it returns or raises while still leading, that is logged (with the
  traceback) and treated as giving leadership up: the lease is released so another replica
  can take over at once, and this replica competes again after a jittered retry period.
- ``on_stopped_leading`` runs after every term, once the work task has finished (and after
  the release, when there is one). Its exceptions are logged, never raised.
- A work task that ignores cancellation delays the end of the term: the elector waits for
  it, and meanwhile neither renews nor releases, so the lease simply runs out.
- A leader that steps down after failed renewals may still be named in the record. When
  it competes again it may take that record back at once (nobody else can have acquired it
  without changing it); ``leaseTransitions`` is unchanged because the holder did not change.
- Only a cancellation *during a term* releases the lease. Cancelled as a candidate (also
  right after stepping down, when a stale record may still name us), nothing is written,
  and successors wait out the recorded duration. A release that fails (API down) or takes
  longer than ``renew_deadline`` is logged and abandoned, with the same effect.
- Identities must be unique per process: :func:`default_identity` is the host name plus a
  random suffix, like kube-controller-manager's.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from catalyst.cancellation import cancel_and_wait
from catalyst.cluster.client import ClusterClient
from catalyst.cluster.errors import (
    ClusterConflictError,
    ClusterError,
    ClusterNotFoundError,
    ClusterProtocolError,
)

logger = logging.getLogger(__name__)

LEASE_API_VERSION = "coordination.k8s.io/v1"
LEASE_KIND = "Lease"

DEFAULT_LEASE_DURATION = 15.0
DEFAULT_RENEW_DEADLINE = 10.0
DEFAULT_RETRY_PERIOD = 2.0
# client-go's JitterFactor: a candidate waits retry_period * (1 + random() * 1.2).
JITTER_FACTOR = 1.2
# What a release writes so that successors need not wait out the old duration.
RELEASED_LEASE_DURATION_SECONDS = 1

Callback = Callable[[], Awaitable[None]]


def default_identity() -> str:
    """This process's candidate identity: ``<hostname>_<random uuid>``."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


def format_micro_time(moment: datetime) -> str:
    """A Kubernetes ``MicroTime``: RFC 3339 in UTC with exactly six fractional digits."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _int_field(spec: dict[str, Any], key: str) -> int:
    value = spec.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str_field(spec: dict[str, Any], key: str) -> str | None:
    value = spec.get(key)
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class LeaderElectionRecord:
    """The election state kept in ``Lease.spec``. Times stay strings: they are never judged."""

    holder_identity: str
    lease_duration_seconds: int
    acquire_time: str | None
    renew_time: str | None
    lease_transitions: int

    @classmethod
    def from_lease(cls, lease: dict[str, Any]) -> LeaderElectionRecord:
        """Read the record from a Lease; absent or malformed fields read as empty / zero."""
        spec = lease.get("spec")
        if not isinstance(spec, dict):
            spec = {}
        return cls(
            holder_identity=_str_field(spec, "holderIdentity") or "",
            lease_duration_seconds=_int_field(spec, "leaseDurationSeconds"),
            acquire_time=_str_field(spec, "acquireTime"),
            renew_time=_str_field(spec, "renewTime"),
            lease_transitions=_int_field(spec, "leaseTransitions"),
        )

    def to_spec_fields(self) -> dict[str, Any]:
        """The ``spec`` fields this record owns (an empty holder is written as ``""``)."""
        fields: dict[str, Any] = {
            "holderIdentity": self.holder_identity,
            "leaseDurationSeconds": self.lease_duration_seconds,
            "leaseTransitions": self.lease_transitions,
        }
        if self.acquire_time is not None:
            fields["acquireTime"] = self.acquire_time
        if self.renew_time is not None:
            fields["renewTime"] = self.renew_time
        return fields


class _Attempt(enum.Enum):
    """Outcome of one try to acquire or renew."""

    HELD = "held"  # we hold the lease now (created, acquired or renewed)
    HELD_ELSEWHERE = "held-elsewhere"  # another holder has an unexpired lease
    FAILED = "failed"  # an API error or a lost write race; try again later


class LeaderElector:
    """Competes for one Lease and runs a callback for as long as it holds it.

    ``is_leader`` is True exactly while this replica acts as leader (from a successful
    acquisition until step-down begins); ``leader_identity`` is the holder last observed in
    the record (``None`` before the first observation or while nobody holds the lease).
    """

    def __init__(
        self,
        client: ClusterClient,
        *,
        namespace: str,
        name: str,
        identity: str | None = None,
        lease_duration: float = DEFAULT_LEASE_DURATION,
        renew_deadline: float = DEFAULT_RENEW_DEADLINE,
        retry_period: float = DEFAULT_RETRY_PERIOD,
        release_on_cancel: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if retry_period <= 0:
            raise ValueError("retry_period must be greater than zero")
        if renew_deadline <= JITTER_FACTOR * retry_period:
            raise ValueError(f"renew_deadline must be greater than retry_period * {JITTER_FACTOR}")
        if lease_duration <= renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if identity == "":
            raise ValueError("identity must not be empty")
        self._client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity if identity is not None else default_identity()
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.release_on_cancel = release_on_cancel
        self._clock = clock
        # The record holds whole seconds; round up so followers never wait less than
        # lease_duration, which the step-down guarantee relies on.
        self._lease_duration_seconds = max(1, math.ceil(lease_duration))
        self._collection_path = (
            f"/apis/{LEASE_API_VERSION}/namespaces/{namespace}/{LEASE_KIND.lower()}s"
        )
        self._lease_path = f"{self._collection_path}/{name}"
        self._random = random.Random()
        self._lease: dict[str, Any] | None = None  # last Lease object seen (for its RV)
        self._observed: LeaderElectionRecord | None = None
        self._observed_time = 0.0
        self._leading = False

    # -- state for /readyz and metrics ------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        """True while this replica acts as leader."""
        return self._leading

    @property
    def leader_identity(self) -> str | None:
        """The holder last observed in the Lease (``None`` if none seen or lease released)."""
        if self._observed is None or not self._observed.holder_identity:
            return None
        return self._observed.holder_identity

    def describe(self) -> str:
        """``namespace/name`` of the Lease, for log lines."""
        return f"{self.namespace}/{self.name}"

    # -- the election loop ----------------------------------------------------------------

    async def run(
        self, on_started_leading: Callback, on_stopped_leading: Callback | None = None
    ) -> None:
        """Compete for the lease and lead whenever it is held, until cancelled."""
        logger.info("leader election for lease %s started as %s", self.describe(), self.identity)
        while True:
            acquired_at = await self._acquire()
            await self._lead(acquired_at, on_started_leading, on_stopped_leading)
            # Give the other candidates one jittered retry period before competing again.
            await asyncio.sleep(self._jittered_retry_period())

    async def _acquire(self) -> float:
        """Return once this replica holds the lease (when the winning request was sent)."""
        while True:
            started = self._clock()
            attempt = await self._bounded_attempt()
            if attempt is _Attempt.HELD:
                logger.info("acquired lease %s as %s", self.describe(), self.identity)
                return started
            await asyncio.sleep(self._jittered_retry_period())

    async def _lead(
        self,
        acquired_at: float,
        on_started_leading: Callback,
        on_stopped_leading: Callback | None,
    ) -> None:
        """One term: run the work task while renewing; end it when leadership ends."""
        self._leading = True
        work = asyncio.create_task(_await(on_started_leading), name=f"leader:{self.describe()}")
        release = False
        try:
            release = await self._hold(work, acquired_at)
        except asyncio.CancelledError:
            release = self.release_on_cancel
            raise
        finally:
            # Stop acting as leader before anything else, above all before a release.
            self._leading = False
            await _stop_work(work, self.describe())
            if release:
                await self._release()
            logger.info("stopped leading lease %s", self.describe())
            if on_stopped_leading is not None:
                await _run_callback(on_stopped_leading, "on_stopped_leading")

    async def _hold(self, work: asyncio.Task[None], last_renewed_at: float) -> bool:
        """Renew until leadership is lost or the work ends; return whether to release.

        ``last_renewed_at`` is when the last successful write was *sent*: the step-down
        deadline counts from there, never from when its answer arrived.
        """
        while True:
            deadline = last_renewed_at + self.renew_deadline
            pause = min(self.retry_period, deadline - self._clock())
            if pause > 0:
                await asyncio.wait({work}, timeout=pause)
            if work.done():
                return True  # the work gave up; _stop_work logs why
            remaining = deadline - self._clock()
            if remaining <= 0:
                logger.warning(
                    "could not renew lease %s within %ss; stepping down",
                    self.describe(),
                    self.renew_deadline,
                )
                return False
            attempt_started = self._clock()
            attempt = await self._bounded_attempt(remaining)
            if attempt is _Attempt.HELD:
                last_renewed_at = attempt_started
            elif attempt is _Attempt.HELD_ELSEWHERE:
                logger.warning(
                    "lease %s is now held by %s; stepping down",
                    self.describe(),
                    self.leader_identity,
                )
                return False

    async def _bounded_attempt(self, limit: float | None = None) -> _Attempt:
        """One acquire-or-renew try, abandoned after ``limit`` (default ``renew_deadline``)."""
        try:
            async with asyncio.timeout(self.renew_deadline if limit is None else limit):
                return await self._try_acquire_or_renew()
        except TimeoutError:
            logger.warning("acquiring or renewing lease %s timed out", self.describe())
            return _Attempt.FAILED

    # -- one attempt ----------------------------------------------------------------------

    async def _try_acquire_or_renew(self) -> _Attempt:
        now = format_micro_time(datetime.now(UTC))
        observed = self._observed
        # Fast path: we hold an unexpired lease, so PUT straight from the cached object.
        if observed is not None and self._holds(observed) and self._lease_valid():
            renewed = self._record_for(observed, now)
            try:
                await self._put(renewed)
                return _Attempt.HELD
            except ClusterError as exc:
                logger.info(
                    "optimistic renewal of %s failed (%s); re-reading", self.describe(), exc
                )

        try:
            lease = await self._client.request("GET", self._lease_path)
        except ClusterNotFoundError:
            return await self._create(now)
        except ClusterError as exc:
            logger.warning("cannot read lease %s: %s", self.describe(), exc)
            return _Attempt.FAILED

        self._lease = lease
        current = LeaderElectionRecord.from_lease(lease)
        if current != self._observed:
            self._observe(current)
        if current.holder_identity and not self._holds(current) and self._lease_valid():
            logger.debug("lease %s is held by %s", self.describe(), current.holder_identity)
            return _Attempt.HELD_ELSEWHERE
        try:
            await self._put(self._record_for(current, now))
        except ClusterError as exc:
            if isinstance(exc, ClusterConflictError):
                logger.info("lost the race for lease %s: %s", self.describe(), exc.message)
            else:
                logger.warning("cannot update lease %s: %s", self.describe(), exc)
            return _Attempt.FAILED
        return _Attempt.HELD

    def _record_for(self, current: LeaderElectionRecord, now: str) -> LeaderElectionRecord:
        """The record to write over ``current`` so that we hold the lease from ``now``."""
        if self._holds(current):
            # Same holder: not a transition; the acquire time survives while the term goes on.
            acquire_time = current.acquire_time if self._leading else now
            transitions = current.lease_transitions
        else:
            acquire_time = now
            transitions = current.lease_transitions + 1
        return LeaderElectionRecord(
            holder_identity=self.identity,
            lease_duration_seconds=self._lease_duration_seconds,
            acquire_time=acquire_time,
            renew_time=now,
            lease_transitions=transitions,
        )

    async def _create(self, now: str) -> _Attempt:
        record = LeaderElectionRecord(
            holder_identity=self.identity,
            lease_duration_seconds=self._lease_duration_seconds,
            acquire_time=now,
            renew_time=now,
            lease_transitions=0,
        )
        body = {
            "apiVersion": LEASE_API_VERSION,
            "kind": LEASE_KIND,
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": record.to_spec_fields(),
        }
        try:
            created = await self._client.request("POST", self._collection_path, body=body)
        except ClusterError as exc:
            if isinstance(exc, ClusterConflictError):
                logger.info("lease %s was created by another candidate", self.describe())
            else:
                logger.warning("cannot create lease %s: %s", self.describe(), exc)
            return _Attempt.FAILED
        self._accept(created)
        return _Attempt.HELD

    async def _put(self, record: LeaderElectionRecord) -> None:
        """Write ``record`` over the cached Lease, conditional on its resourceVersion."""
        if self._lease is None:
            raise ClusterProtocolError("NoLease", "no observed Lease to update")
        body = dict(self._lease)
        spec = body.get("spec")
        body["spec"] = {**(spec if isinstance(spec, dict) else {}), **record.to_spec_fields()}
        updated = await self._client.request("PUT", self._lease_path, body=body)
        self._accept(updated)

    def _accept(self, lease: dict[str, Any]) -> None:
        """Remember a Lease we wrote: its RV for the next write, its record as observed."""
        self._lease = lease
        self._observe(LeaderElectionRecord.from_lease(lease))

    async def _release(self) -> None:
        """Hand the lease over at once: empty holder, one-second duration (bounded, logged)."""
        observed = self._observed
        if observed is None or not self._holds(observed):
            return
        now = format_micro_time(datetime.now(UTC))
        released = LeaderElectionRecord(
            holder_identity="",
            lease_duration_seconds=RELEASED_LEASE_DURATION_SECONDS,
            acquire_time=now,
            renew_time=now,
            lease_transitions=observed.lease_transitions,
        )
        try:
            async with asyncio.timeout(self.renew_deadline):
                await self._put(released)
        except (ClusterError, TimeoutError) as exc:
            reason = str(exc) or "timed out"
            logger.warning("could not release lease %s: %s", self.describe(), reason)
            return
        logger.info("released lease %s", self.describe())

    # -- observation ----------------------------------------------------------------------

    def _observe(self, record: LeaderElectionRecord) -> None:
        previous = self._observed
        self._observed = record
        self._observed_time = self._clock()
        if previous is None or previous.holder_identity != record.holder_identity:
            logger.info(
                "lease %s: holder is now %s",
                self.describe(),
                record.holder_identity or "(nobody)",
            )

    def _holds(self, record: LeaderElectionRecord) -> bool:
        return record.holder_identity == self.identity

    def _lease_valid(self) -> bool:
        """Unexpired by our own clock: the holder's duration since we saw the record change."""
        if self._observed is None:
            return False
        expires = self._observed_time + self._observed.lease_duration_seconds
        return self._clock() < expires

    def _jittered_retry_period(self) -> float:
        return self.retry_period * (1.0 + self._random.random() * JITTER_FACTOR)


async def _stop_work(task: asyncio.Task[None], lease: str) -> None:
    """Cancel the leader's work task (unless it already ended), wait for it, log how it ended."""
    if task.done():
        # It ended on its own while we still led: that is giving the lease up.
        if task.cancelled():
            logger.error("leader work for lease %s was cancelled; giving up the lease", lease)
        elif (error := task.exception()) is not None:
            logger.error(
                "leader work for lease %s failed; giving up the lease", lease, exc_info=error
            )
        else:
            logger.error("leader work for lease %s returned; giving up the lease", lease)
        return
    for error in await cancel_and_wait([task]):
        logger.error("leader work for lease %s failed while stopping", lease, exc_info=error)


async def _await(callback: Callback) -> None:
    # create_task wants a coroutine; the callback only promises an awaitable.
    await callback()


async def _run_callback(callback: Callback, what: str) -> None:
    try:
        await callback()
    except Exception:
        logger.exception("%s failed", what)
