"""LeaderElector against a real API server, with small timings: on both clusters (kubesim
and realkube's ``coordination.k8s.io`` Leases, `tests.support.clusters`), each test with its
Lease in a namespace of its own. Two and three candidates; a dead holder replaced after the
lease duration. A leader cut off from the server (a TCP relay, `tests.support.tcp_proxy`)
steps down in time.

Timings: lease 2 s, renew deadline 1.5 s, retry 0.3 s (see `tests.support.election`). Every
wait is bounded; the bounds follow from those timings plus
:data:`tests.support.election.SLACK`.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.leader_election import JITTER_FACTOR, LeaderElector
from tests.support.clusters import BOTH_CLUSTERS, KubeCluster
from tests.support.election import (
    LEASE,
    LEASE_DURATION,
    POLL,
    RENEW_DEADLINE,
    RETRY_PERIOD,
    SLACK,
    Candidate,
    assert_no_overlap,
    leases_path,
    make_candidate,
    read_lease_spec,
)
from tests.support.tcp_proxy import TcpProxy, kubeconfig_via
from tests.support.waiting import eventually

MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
MAX_CANDIDATE_WAIT = RETRY_PERIOD * (1 + JITTER_FACTOR)

ClientFactory = Callable[[], Awaitable[ClusterClient]]


class Candidates(list[Candidate]):
    """The candidates a test started, and the namespace of their Lease."""

    def __init__(self, namespace: str) -> None:
        super().__init__()
        self.namespace = namespace


@pytest.fixture
async def ns(kube_cluster: KubeCluster) -> str:
    """The namespace of this test's Lease."""
    return await kube_cluster.new_namespace("lease")


@pytest.fixture
async def new_client(kube_cluster: KubeCluster) -> AsyncIterator[ClientFactory]:
    """Makes ClusterClients for the cluster (one per candidate); closes them all afterwards."""
    clients: list[ClusterClient] = []
    path = kube_cluster.kubeconfig_path

    async def make() -> ClusterClient:
        client = await ClusterClient.from_kubeconfig(path, qps=0)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def candidates(ns: str) -> AsyncIterator[Candidates]:
    """Candidates a test started; any still running are stopped at the end."""
    started = Candidates(ns)
    yield started
    for candidate in started:
        if candidate.task is not None and not candidate.task.done():
            await candidate.stop()


async def start(
    candidates: Candidates, new_client: ClientFactory, identity: str, **options: object
) -> Candidate:
    candidate = make_candidate(
        await new_client(), identity, namespace=candidates.namespace, **options
    )
    candidates.append(candidate)
    candidate.start()
    return candidate


@BOTH_CLUSTERS
async def test_one_candidate_creates_the_lease_and_renews_it(
    new_client: ClientFactory, candidates: Candidates, ns: str
) -> None:
    a = await start(candidates, new_client, "a")
    await eventually(lambda: a.leading, "a to lead", within=SLACK, interval=POLL)
    assert len(a.terms) == 1
    assert a.elector.leader_identity == "a"

    reader = await new_client()
    first = await read_lease_spec(reader, ns)
    assert first["holderIdentity"] == "a"
    assert first["leaseDurationSeconds"] == 2
    assert first["leaseTransitions"] == 0
    assert MICRO_TIME.match(first["acquireTime"])
    assert MICRO_TIME.match(first["renewTime"])

    renewals = [first["renewTime"]]
    deadline = time.monotonic() + 3 * RETRY_PERIOD + SLACK
    while len(renewals) < 3:  # two renewals after the acquisition
        assert time.monotonic() < deadline, "renewTime did not advance"
        await asyncio.sleep(RETRY_PERIOD / 3)
        spec = await read_lease_spec(reader, ns)
        if spec["renewTime"] != renewals[-1]:
            renewals.append(spec["renewTime"])
        # A renewal keeps the term's acquireTime and is no transition.
        assert spec["acquireTime"] == first["acquireTime"]
        assert spec["leaseTransitions"] == 0
        assert spec["holderIdentity"] == "a"
    assert renewals == sorted(renewals)  # MicroTime in UTC sorts as text: it moved forward
    assert len(a.terms) == 1
    assert a.terms[0].ended is None


@BOTH_CLUSTERS
async def test_clean_shutdown_releases_and_the_other_takes_over_at_once(
    new_client: ClientFactory, candidates: Candidates, ns: str
) -> None:
    # A long lease, so a takeover that had to wait it out would be obvious.
    timing = {"lease_duration": 10.0, "renew_deadline": 8.0}
    a = await start(candidates, new_client, "a", **timing)
    await eventually(lambda: a.leading, "a to lead", within=SLACK, interval=POLL)
    b = await start(candidates, new_client, "b", **timing)
    await eventually(
        lambda: b.elector.leader_identity == "a", "b to observe a", within=SLACK, interval=POLL
    )

    stopped_at = await a.stop()
    assert a.terms[0].cancelled
    assert a.terms[0].ended is not None
    assert a.terms[0].stopped_callback is not None
    await eventually(
        lambda: b.leading, "b to lead", within=MAX_CANDIDATE_WAIT + SLACK, interval=POLL
    )
    taken_at = time.monotonic()
    assert taken_at - stopped_at < MAX_CANDIDATE_WAIT + SLACK < 10.0
    assert_no_overlap(a, b)

    spec = await read_lease_spec(await new_client(), ns)
    assert spec["holderIdentity"] == "b"
    assert spec["leaseTransitions"] == 1
    assert spec["leaseDurationSeconds"] == 10


@BOTH_CLUSTERS
async def test_release_clears_the_holder(
    new_client: ClientFactory, candidates: Candidates, ns: str
) -> None:
    a = await start(candidates, new_client, "a")
    await eventually(lambda: a.leading, "a to lead", within=SLACK, interval=POLL)
    await a.stop()
    assert not a.elector.is_leader
    spec = await read_lease_spec(await new_client(), ns)
    assert spec["holderIdentity"] == ""
    assert spec["leaseDurationSeconds"] == 1
    assert spec["leaseTransitions"] == 0


@BOTH_CLUSTERS
async def test_a_dead_leader_is_replaced_only_after_the_lease_duration(
    new_client: ClientFactory, candidates: Candidates, ns: str
) -> None:
    a = await start(candidates, new_client, "a", release_on_cancel=False)
    await eventually(lambda: a.leading, "a to lead", within=SLACK, interval=POLL)
    # Two followers race for the expired lease: one PUT wins, the other gets 409 Conflict.
    b = await start(candidates, new_client, "b")
    c = await start(candidates, new_client, "c")
    await eventually(
        lambda: b.elector.leader_identity == c.elector.leader_identity == "a",
        "b and c to observe a",
        within=SLACK,
        interval=POLL,
    )

    died_at = await a.stop()  # no release: the lease still names a
    spec = await read_lease_spec(await new_client(), ns)
    assert spec["holderIdentity"] == "a"

    await eventually(
        lambda: b.leading or c.leading,
        "a successor",
        within=LEASE_DURATION + MAX_CANDIDATE_WAIT + SLACK,
        interval=POLL,
    )

    taken_at = time.monotonic()
    # a renewed at most one retry period before dying; b waits a full lease from then.
    assert taken_at - died_at >= LEASE_DURATION - RETRY_PERIOD - 0.1
    successor, other = (b, c) if b.leading else (c, b)
    # The loser keeps following: it observes the winner and does not lead for a while.
    await eventually(
        lambda: other.elector.leader_identity == successor.identity,
        "the loser to observe",
        within=SLACK,
        interval=POLL,
    )
    assert not other.terms
    assert_no_overlap(a, b, c)
    spec = await read_lease_spec(await new_client(), ns)
    assert spec["holderIdentity"] == successor.identity
    assert spec["leaseTransitions"] == 1


@BOTH_CLUSTERS
async def test_two_candidates_never_lead_at_once_and_transitions_count_holder_changes(
    new_client: ClientFactory, candidates: Candidates, ns: str
) -> None:
    both_led = False

    async def sample() -> None:
        nonlocal both_led
        while True:
            if sum(c.elector.is_leader for c in candidates) > 1:
                both_led = True
            await asyncio.sleep(0.005)

    sampler = asyncio.create_task(sample())
    try:
        a = await start(candidates, new_client, "a")
        b = await start(candidates, new_client, "b")
        await eventually(lambda: a.leading or b.leading, "a leader", within=SLACK, interval=POLL)
        holders: list[str] = []
        # Three hand-overs: stop the leader, wait for the other, restart the stopped one.
        for _ in range(3):
            leader, follower = (a, b) if a.leading else (b, a)
            holders.append(leader.identity)
            await leader.stop()
            await eventually(
                follower.leads,
                f"{follower.identity} to take over",
                within=MAX_CANDIDATE_WAIT + SLACK,
                interval=POLL,
            )
            leader.start()
        holders.append(a.identity if a.leading else b.identity)
    finally:
        sampler.cancel()
        await asyncio.wait({sampler})
    assert not both_led
    assert_no_overlap(a, b)
    assert all(x != y for x, y in itertools.pairwise(holders))
    assert len(a.terms) + len(b.terms) == 4
    spec = await read_lease_spec(await new_client(), ns)
    assert spec["holderIdentity"] == holders[-1]
    assert spec["leaseTransitions"] == 3


@BOTH_CLUSTERS
async def test_a_leader_that_cannot_reach_the_api_steps_down_within_the_renew_deadline(
    kube_cluster: KubeCluster,
    new_client: ClientFactory,
    candidates: Candidates,
    ns: str,
    tmp_path: Path,
) -> None:
    # a reaches the server through a TCP relay that the test cuts (every connection reset,
    # new ones refused): the same on kubesim and on a real kube-apiserver.
    async with TcpProxy(kube_cluster.url) as proxy:
        kubeconfig = kubeconfig_via(proxy, kube_cluster.kubeconfig_path, tmp_path / "relayed")
        async with await ClusterClient.from_kubeconfig(kubeconfig, qps=0) as relayed:
            a = make_candidate(relayed, "a", namespace=ns)
            candidates.append(a)
            a.start()
            await eventually(lambda: a.leading, "a to lead", within=SLACK, interval=POLL)
            await eventually(
                lambda: a.terms[0].started < time.monotonic() - 0.5,
                "a settled",
                within=SLACK,
                interval=POLL,
            )

            proxy.cut()
            cut_at = time.monotonic()
            term = a.terms[0]
            await eventually(
                lambda: term.stopped_callback is not None,
                "a to step down",
                within=RENEW_DEADLINE + SLACK,
                interval=POLL,
            )
            stepped_down_at = time.monotonic()
            assert not a.elector.is_leader
            assert term.cancelled
            assert term.ended is not None
            assert term.stopped_callback is not None
            assert term.ended <= term.stopped_callback
            # The deadline runs from the last renewal sent (at most one retry period before
            # the cut), and a must have stopped before the lease could expire for anybody.
            assert stepped_down_at - cut_at <= RENEW_DEADLINE + 0.2
            assert stepped_down_at - cut_at >= RENEW_DEADLINE - RETRY_PERIOD - 0.2
            assert term.ended - cut_at < LEASE_DURATION - RETRY_PERIOD

            proxy.restore()
            # Still the recorded holder, a takes its own lease back: no transition.
            await eventually(
                lambda: len(a.terms) == 2,
                "a to lead again",
                within=MAX_CANDIDATE_WAIT + SLACK,
                interval=POLL,
            )
            spec = await read_lease_spec(await new_client(), ns)
            assert spec["holderIdentity"] == "a"
            assert spec["leaseTransitions"] == 0
            await a.stop()
            assert_no_overlap(a)


@BOTH_CLUSTERS
async def test_a_leader_that_sees_another_holder_steps_down(
    new_client: ClientFactory, candidates: Candidates, ns: str
) -> None:
    a = await start(candidates, new_client, "a")
    await eventually(lambda: a.leading, "a to lead", within=SLACK, interval=POLL)
    intruder = await new_client()
    lease = await intruder.request("GET", f"{leases_path(ns)}/{LEASE}")
    lease["spec"] = {**lease["spec"], "holderIdentity": "intruder", "leaseDurationSeconds": 60}
    await intruder.request("PUT", f"{leases_path(ns)}/{LEASE}", body=lease)

    await eventually(
        lambda: a.terms[0].stopped_callback is not None,
        "a to step down",
        within=RETRY_PERIOD + SLACK,
        interval=POLL,
    )
    assert not a.elector.is_leader
    assert a.terms[0].cancelled
    assert a.elector.leader_identity == "intruder"


@BOTH_CLUSTERS
async def test_expiry_ignores_the_timestamps_in_the_record(
    new_client: ClientFactory, candidates: Candidates, ns: str
) -> None:
    # A lease whose holder "renewed" in 2000: by wall clocks it expired long ago, but a
    # candidate must still wait the holder's duration from its own first observation.
    client = await new_client()
    stale = "2000-01-01T00:00:00.000000Z"
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": LEASE, "namespace": ns},
        "spec": {
            "holderIdentity": "ghost",
            "leaseDurationSeconds": 2,
            "acquireTime": stale,
            "renewTime": stale,
            "leaseTransitions": 7,
        },
    }
    await client.request("POST", leases_path(ns), body=body)
    started_at = time.monotonic()
    a = await start(candidates, new_client, "a")
    await eventually(
        lambda: a.leading, "a to lead", within=2.0 + MAX_CANDIDATE_WAIT + SLACK, interval=POLL
    )
    led_at = time.monotonic()
    assert led_at - started_at >= 2.0
    spec = await read_lease_spec(client, ns)
    assert spec["holderIdentity"] == "a"
    assert spec["leaseTransitions"] == 8
    assert spec["acquireTime"] != stale


@BOTH_CLUSTERS
async def test_expiry_is_judged_by_the_injected_monotonic_clock(
    new_client: ClientFactory, candidates: Candidates, ns: str
) -> None:
    # The holder promised 100 s and renewed "now" by wall clock; only our clock moves on.
    client = await new_client()
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": LEASE, "namespace": ns},
        "spec": {"holderIdentity": "ghost", "leaseDurationSeconds": 100, "renewTime": now},
    }
    await client.request("POST", leases_path(ns), body=body)
    fake_now = 1000.0
    a = await start(candidates, new_client, "a", clock=lambda: fake_now)
    await eventually(
        lambda: a.elector.leader_identity == "ghost",
        "a to observe ghost",
        within=SLACK,
        interval=POLL,
    )
    assert not a.elector.is_leader
    fake_now += 101.0
    await eventually(
        lambda: a.leading, "a to lead", within=MAX_CANDIDATE_WAIT + SLACK, interval=POLL
    )
    spec = await read_lease_spec(client, ns)
    assert spec["holderIdentity"] == "a"
    assert spec["leaseTransitions"] == 1


@BOTH_CLUSTERS
async def test_leader_work_that_fails_gives_the_lease_up_and_competes_again(
    new_client: ClientFactory, candidates: Candidates, ns: str
) -> None:
    a = await start(candidates, new_client, "a", fail_first_terms=1)
    await eventually(
        lambda: len(a.terms) == 2,
        "a second term",
        within=2 * MAX_CANDIDATE_WAIT + SLACK,
        interval=POLL,
    )
    first = a.terms[0]
    assert first.ended is not None
    assert first.stopped_callback is not None
    assert first.stopped_callback <= a.terms[1].started
    await eventually(lambda: a.leading, "a to lead", within=SLACK, interval=POLL)
    # The failed term released the lease (holder ""), so taking it again is a transition.
    spec = await read_lease_spec(await new_client(), ns)
    assert spec["holderIdentity"] == "a"
    assert spec["leaseTransitions"] == 1


@BOTH_CLUSTERS
async def test_on_stopped_leading_is_optional(new_client: ClientFactory, ns: str) -> None:
    client = await new_client()
    elector = LeaderElector(
        client,
        namespace=ns,
        name=LEASE,
        identity="solo",
        lease_duration=LEASE_DURATION,
        renew_deadline=RENEW_DEADLINE,
        retry_period=RETRY_PERIOD,
    )
    working = asyncio.Event()

    async def work() -> None:
        working.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(elector.run(work))
    try:
        await asyncio.wait_for(working.wait(), SLACK)
        assert elector.is_leader
    finally:
        task.cancel()
        await asyncio.wait({task}, timeout=5)
    assert task.cancelled()
    assert not elector.is_leader
    assert elector.leader_identity is None  # it released the lease
    spec = await read_lease_spec(client, ns)
    assert spec["holderIdentity"] == ""
