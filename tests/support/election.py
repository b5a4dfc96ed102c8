"""Test harness: candidates whose terms are recorded with monotonic timestamps.

A :class:`Candidate` wraps one :class:`LeaderElector` (with its own ``ClusterClient``) and
runs it as a task. Its leader work records a :class:`Term` (when it started, when it was
cancelled) so tests can check that terms of different candidates never overlap.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.leader_election import LeaderElector

NAMESPACE = "default"
LEASE = "catalyst-leader"
LEASE_PATH = f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases/{LEASE}"
LEASES_PATH = f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases"


def leases_path(namespace: str = NAMESPACE) -> str:
    return f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"


# Small but safe timings: lease 2 s, renew deadline 1.5 s, retry 0.3 s.
LEASE_DURATION = 2.0
RENEW_DEADLINE = 1.5
RETRY_PERIOD = 0.3
# A candidate's worst retry wait is RETRY_PERIOD * 2.2; allow for a slow test machine.
SLACK = 1.0
# How often the tests poll a candidate's state (cheap; takeovers are timed to about 10 ms).
POLL = 0.01


@dataclass
class Term:
    """One leadership term as seen by the leader's work task."""

    started: float
    ended: float | None = None  # when the work was cancelled (or failed)
    cancelled: bool = False  # the work ended by cancellation, as leader work should
    stopped_callback: float | None = None  # when on_stopped_leading ran


@dataclass
class Candidate:
    """One elector running as a task, with its terms recorded."""

    elector: LeaderElector
    terms: list[Term] = field(default_factory=list)
    fail_first_terms: int = 0  # the work of this many first terms raises at once
    task: asyncio.Task[None] | None = None

    @property
    def identity(self) -> str:
        return self.elector.identity

    @property
    def leading(self) -> bool:
        """The elector says it leads and its work is running."""
        return self.elector.is_leader and bool(self.terms) and self.terms[-1].ended is None

    def leads(self) -> bool:
        """``leading`` as a method, to pass as a predicate."""
        return self.leading

    async def _work(self) -> None:
        term = Term(started=time.monotonic())
        self.terms.append(term)
        try:
            if len(self.terms) <= self.fail_first_terms:
                raise RuntimeError("leader work broke")
            await asyncio.Event().wait()  # lead until cancelled
        except asyncio.CancelledError:
            term.cancelled = True
            raise
        finally:
            term.ended = time.monotonic()

    async def _stopped(self) -> None:
        self.terms[-1].stopped_callback = time.monotonic()

    def start(self) -> None:
        self.task = asyncio.create_task(self.elector.run(self._work, self._stopped))

    async def stop(self) -> float:
        """Cancel the elector (as at shutdown); return when it was cancelled."""
        assert self.task is not None
        cancelled_at = time.monotonic()
        self.task.cancel()
        done, _ = await asyncio.wait({self.task}, timeout=5)
        assert done, "the elector did not stop within 5 s"
        assert self.task.cancelled()
        return cancelled_at


def make_candidate(
    client: ClusterClient, identity: str, *, namespace: str = NAMESPACE, **options: Any
) -> Candidate:
    timing: dict[str, Any] = {
        "lease_duration": LEASE_DURATION,
        "renew_deadline": RENEW_DEADLINE,
        "retry_period": RETRY_PERIOD,
    }
    timing.update(options)
    fail_first_terms = timing.pop("fail_first_terms", 0)
    elector = LeaderElector(client, namespace=namespace, name=LEASE, identity=identity, **timing)
    return Candidate(elector, fail_first_terms=fail_first_terms)


async def read_lease_spec(client: ClusterClient, namespace: str = NAMESPACE) -> dict[str, Any]:
    lease = await client.request("GET", f"{leases_path(namespace)}/{LEASE}")
    spec = lease["spec"]
    assert isinstance(spec, dict)
    return spec


def assert_no_overlap(*candidates: Candidate) -> None:
    """No two terms (of any candidates) overlap, and every finished term was reported."""
    terms = sorted((term for c in candidates for term in c.terms), key=lambda t: t.started)
    for earlier, later in itertools.pairwise(terms):
        assert earlier.ended is not None, "a term is still running while a later one started"
        assert earlier.ended <= later.started, f"terms overlap: {earlier} and {later}"
