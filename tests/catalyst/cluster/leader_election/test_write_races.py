"""Optimistic concurrency: a candidate that loses a create or update race does not lead.

A :class:`RacingClient` forwards to a real ``ClusterClient`` but lets a rival write the
Lease just before the candidate's first POST or PUT reaches kubesim, so the candidate's
write is answered 409 (AlreadyExists / Conflict) deterministically.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import pytest

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.errors import ClusterError
from catalyst.cluster.leader_election import JITTER_FACTOR
from kubesim.server import KubeSim
from tests.support.election import (
    LEASE,
    LEASE_PATH,
    LEASES_PATH,
    NAMESPACE,
    POLL,
    RETRY_PERIOD,
    SLACK,
    Candidate,
    make_candidate,
    read_lease_spec,
)
from tests.support.waiting import eventually

Rival = Callable[[], Awaitable[None]]


class RacingClient:
    """``request`` as ClusterClient's, with ``rival`` run once before the first ``method``."""

    def __init__(self, real: ClusterClient, method: str, rival: Rival) -> None:
        self._real = real
        self._method = method
        self._rival: Rival | None = rival
        self.errors: list[ClusterError] = []

    async def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        if method == self._method and self._rival is not None:
            rival, self._rival = self._rival, None
            await rival()
        try:
            return await self._real.request(method, path, **kwargs)
        except ClusterError as exc:
            self.errors.append(exc)
            raise


@pytest.fixture
async def clients(kubesim: KubeSim) -> AsyncIterator[tuple[ClusterClient, ClusterClient]]:
    assert kubesim.kubeconfig_path is not None
    async with (
        await ClusterClient.from_kubeconfig(kubesim.kubeconfig_path, qps=0) as mine,
        await ClusterClient.from_kubeconfig(kubesim.kubeconfig_path, qps=0) as rivals,
    ):
        yield mine, rivals


def lease_body(holder: str, duration: int, transitions: int) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": LEASE, "namespace": NAMESPACE},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration,
            "leaseTransitions": transitions,
        },
    }


async def run_until_observed(candidate: Candidate, holder: str) -> None:
    candidate.start()
    try:
        await eventually(
            lambda: candidate.elector.leader_identity == holder,
            f"the candidate to observe {holder}",
            within=RETRY_PERIOD * (1 + JITTER_FACTOR) + SLACK,
            interval=POLL,
        )
        assert not candidate.terms
        assert not candidate.elector.is_leader
    finally:
        await candidate.stop()


async def test_losing_the_create_race_does_not_lead(
    clients: tuple[ClusterClient, ClusterClient],
) -> None:
    mine, rivals = clients

    async def rival_creates() -> None:
        await rivals.request("POST", LEASES_PATH, body=lease_body("rival", 60, 0))

    racing = RacingClient(mine, "POST", rival_creates)
    candidate = make_candidate(cast(ClusterClient, racing), "me")
    await run_until_observed(candidate, "rival")
    assert [(e.status, e.reason) for e in racing.errors if e.status == 409] == [
        (409, "AlreadyExists")
    ]
    spec = await read_lease_spec(rivals)
    assert spec["holderIdentity"] == "rival"


async def test_losing_the_update_race_does_not_lead(
    clients: tuple[ClusterClient, ClusterClient],
) -> None:
    mine, rivals = clients
    # A released lease: free for the taking, so the candidate goes straight to its PUT.
    await rivals.request("POST", LEASES_PATH, body=lease_body("", 1, 4))

    async def rival_takes_it() -> None:
        lease = await rivals.request("GET", LEASE_PATH)
        lease["spec"] = {**lease["spec"], "holderIdentity": "rival", "leaseDurationSeconds": 60}
        lease["spec"]["leaseTransitions"] = 5
        await rivals.request("PUT", LEASE_PATH, body=lease)

    racing = RacingClient(mine, "PUT", rival_takes_it)
    candidate = make_candidate(cast(ClusterClient, racing), "me")
    await run_until_observed(candidate, "rival")
    assert [(e.status, e.reason) for e in racing.errors] == [(409, "Conflict")]
    spec = await read_lease_spec(rivals)
    assert spec["holderIdentity"] == "rival"
    assert spec["leaseTransitions"] == 5
