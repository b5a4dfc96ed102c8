"""Pure parts of leader election: the record, MicroTime, identities, timing validation."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.leader_election import (
    DEFAULT_LEASE_DURATION,
    DEFAULT_RENEW_DEADLINE,
    DEFAULT_RETRY_PERIOD,
    LeaderElectionRecord,
    LeaderElector,
    default_identity,
    format_micro_time,
)

# Construction never touches the client, so a placeholder is enough here.
NO_CLIENT = cast(ClusterClient, object())


def test_micro_time_is_utc_with_six_fraction_digits() -> None:
    moment = datetime(2026, 1, 2, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=2)))
    assert format_micro_time(moment) == "2026-01-02T02:05:06.000007Z"
    assert format_micro_time(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02T00:00:00.000000Z"


def test_default_identity_is_hostname_and_a_random_suffix() -> None:
    first, second = default_identity(), default_identity()
    assert first != second
    host, _, suffix = first.rpartition("_")
    assert host == socket.gethostname()
    assert re.fullmatch(r"[0-9a-f-]{36}", suffix)
    elector = LeaderElector(NO_CLIENT, namespace="ns", name="lease")
    assert elector.identity.startswith(socket.gethostname() + "_")


def test_record_round_trips_through_the_lease_spec() -> None:
    record = LeaderElectionRecord(
        holder_identity="a",
        lease_duration_seconds=15,
        acquire_time="2026-01-01T00:00:00.000000Z",
        renew_time="2026-01-01T00:00:02.000000Z",
        lease_transitions=3,
    )
    spec = record.to_spec_fields()
    assert spec == {
        "holderIdentity": "a",
        "leaseDurationSeconds": 15,
        "acquireTime": "2026-01-01T00:00:00.000000Z",
        "renewTime": "2026-01-01T00:00:02.000000Z",
        "leaseTransitions": 3,
    }
    assert LeaderElectionRecord.from_lease({"spec": spec}) == record


@pytest.mark.parametrize(
    "lease",
    [{}, {"spec": None}, {"spec": {"holderIdentity": 5, "leaseDurationSeconds": "15"}}],
)
def test_missing_or_malformed_fields_read_as_empty(lease: dict[str, Any]) -> None:
    record = LeaderElectionRecord.from_lease(lease)
    assert record == LeaderElectionRecord("", 0, None, None, 0)


def test_released_record_writes_an_empty_holder() -> None:
    spec = LeaderElectionRecord("", 1, None, None, 2).to_spec_fields()
    assert spec == {"holderIdentity": "", "leaseDurationSeconds": 1, "leaseTransitions": 2}


def test_defaults_are_kube_controller_manager_s() -> None:
    elector = LeaderElector(NO_CLIENT, namespace="ns", name="lease", identity="me")
    assert (
        (elector.lease_duration, elector.renew_deadline, elector.retry_period)
        == (
            DEFAULT_LEASE_DURATION,
            DEFAULT_RENEW_DEADLINE,
            DEFAULT_RETRY_PERIOD,
        )
        == (15.0, 10.0, 2.0)
    )
    assert elector.release_on_cancel
    assert not elector.is_leader
    assert elector.leader_identity is None


@pytest.mark.parametrize(
    ("lease_duration", "renew_deadline", "retry_period", "problem"),
    [
        (15.0, 15.0, 2.0, "lease_duration must be greater than renew_deadline"),
        (15.0, 2.4, 2.0, "renew_deadline must be greater than retry_period"),
        (15.0, 10.0, 0.0, "retry_period must be greater than zero"),
    ],
)
def test_timings_client_go_rejects_are_rejected(
    lease_duration: float, renew_deadline: float, retry_period: float, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        LeaderElector(
            NO_CLIENT,
            namespace="ns",
            name="lease",
            identity="me",
            lease_duration=lease_duration,
            renew_deadline=renew_deadline,
            retry_period=retry_period,
        )


def test_empty_identity_is_rejected() -> None:
    with pytest.raises(ValueError, match="identity"):
        LeaderElector(NO_CLIENT, namespace="ns", name="lease", identity="")
