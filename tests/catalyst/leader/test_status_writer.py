"""WatchedStatusWriter's bookkeeping against a real database: no row change goes unpolled."""

from __future__ import annotations

from typing import Any

from catalyst.cluster import EnvironmentSnapshot
from catalyst.domain.model import ObjectRef
from catalyst.leader.status_writer import WatchedStatusWriter
from catalyst.service.status import ObservedEnvironment
from catalyst.store.database import Database
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.errors import StaleRecord
from catalyst.store.records import EnvironmentRecord
from catalyst.watcher.status_sync import GONE

CONFIG_MAP = ("v1", "ConfigMap")


class RefusesFirstWrite:
    """A status use case whose first write is refused as stale, as happens when another
    writer changed the row between the watcher's read and its write; later writes store
    nothing (the verdict did not change)."""

    def __init__(self) -> None:
        self.records_seen: list[EnvironmentRecord] = []

    async def apply_observation(
        self, record: EnvironmentRecord, observation: Any, source: str, **_: Any
    ) -> ObservedEnvironment:
        self.records_seen.append(record)
        if len(self.records_seen) == 1:
            raise StaleRecord(record.id, record.version, record.version + 1)
        return ObservedEnvironment(record=record, resources=[])


def empty_snapshot(namespace: str, env_id: int) -> EnvironmentSnapshot:
    return EnvironmentSnapshot(namespace=namespace, namespace_exists=False)


async def test_a_change_first_seen_by_a_refused_write_is_still_polled_with_its_kinds(
    database: Database,
) -> None:
    environments = EnvironmentRepository(database)
    status = RefusesFirstWrite()
    writer = WatchedStatusWriter(
        environments=environments,
        status=status,  # type: ignore[arg-type]  # only apply_observation is used
    )
    record = await environments.create(name="cm-only", chart_name="test", values={})
    first = await writer.poll()
    assert list(first.changed) == [record.id]
    assert first.kinds == frozenset()

    # The deployer records an inventory with a kind nobody watches yet and moves
    # applied_revision, after the poll and before the watcher's next write.
    await environments.set_inventory(
        record.id, revision=1, objects=[ObjectRef("v1", "ConfigMap", record.namespace, "cm")]
    )
    await environments.update(
        record.id, expected_version=record.version, applied_revision=1, operation=None
    )
    await writer.write(record.id, empty_snapshot)
    # The refused write made the writer read the new version itself ...
    assert status.records_seen[-1].applied_revision == 1

    # ... and the next poll still reports the change, with the kind to watch.
    second = await writer.poll()
    assert list(second.changed) == [record.id]
    assert second.kinds is not None
    assert CONFIG_MAP in second.kinds

    third = await writer.poll()
    assert list(third.changed) == []
    assert third.kinds is None


class StoresNothing:
    """A status use case whose verdict never changes: nothing is written."""

    async def apply_observation(
        self, record: EnvironmentRecord, observation: Any, source: str, **_: Any
    ) -> ObservedEnvironment:
        return ObservedEnvironment(record=record, resources=[])


async def test_a_deletion_a_write_found_first_is_still_polled_and_its_kinds_dropped(
    database: Database,
) -> None:
    environments = EnvironmentRepository(database)
    writer = WatchedStatusWriter(
        environments=environments,
        status=StoresNothing(),  # type: ignore[arg-type]  # only apply_observation is used
    )
    record = await environments.create(name="cm-only", chart_name="test", values={})
    await environments.set_inventory(
        record.id, revision=1, objects=[ObjectRef("v1", "ConfigMap", record.namespace, "cm")]
    )
    first = await writer.poll()
    assert first.kinds == frozenset({CONFIG_MAP})

    # The environment is deleted; the namespace's deletion event has the watcher evaluate it
    # before the next poll, and the write finds the row gone.
    await environments.mark_deleted(record.id, expected_version=record.version)
    assert await writer.write(record.id, empty_snapshot) == GONE

    # The poll still reports the deletion, with kinds that no longer hold the ConfigMap.
    second = await writer.poll()
    assert list(second.gone) == [record.id]
    assert second.kinds == frozenset()
