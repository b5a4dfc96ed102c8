"""`EnvironmentRepository`: environments, their inventory and their status history.

Unit of work: every public method is exactly one database transaction, opened and
committed by the method itself (the repository holds the `Database`, not a session).
Whatever must be atomic is therefore one method: a status change and its history row
(`record_status_change`), a new environment and its first history row (`create`), an
inventory rewrite (`set_inventory`).

Optimistic locking: every write to an environment row names the version the caller read
(`expected_version`) and bumps it. If someone else wrote in between, the write changes
nothing and raises `StaleRecord`; the caller re-reads, re-decides and retries. A missing
row raises `EnvironmentRowMissing`. Deleted environments stay readable (soft delete) and
keep their id forever; ids are never reused.

Name uniqueness: ``live_name`` carries the name while the environment is live and is
cleared by `mark_deleted`, so a second live environment with the same name fails in the
database itself (race-free across replicas) and surfaces as `NameTaken`.

Timestamps: every method that writes takes an optional ``now`` (aware UTC) so callers
with a clock of their own (and tests) decide what "now" is; it defaults to the wall clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any, Final, TypedDict, Unpack

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from catalyst.store import json_codec
from catalyst.store._results import inserted_id
from catalyst.store.database import Database
from catalyst.store.errors import EnvironmentRowMissing, NameTaken, StaleRecord
from catalyst.store.records import EnvironmentRecord, Inventory, ObjectRef, StatusChangeRecord
from catalyst.store.schema import environment_objects, environments, status_changes
from catalyst.timestamps import utc_now

# Values a new environment starts with (names fixed by docs/dev/catalyst-internals.md).
INITIAL_STATUS: Final = "starting"
INITIAL_LIFECYCLE: Final = "creating"
INITIAL_OPERATION: Final = "create"
INITIAL_REVISION: Final = 1
FAILED_STATUS: Final = "failed"
CREATE_SOURCE: Final = "api"

# Bound the size of one IN (...) list; SQLite and asyncpg both limit bind parameters.
_IN_CHUNK: Final = 1000
DELETED_STATUS: Final = "deleted"
"""``to_status`` of the history row that ends an environment (not a status it can have)."""
DELETION_SOURCE: Final = "deployer"

_RECORD_COLUMNS = [environments.c[field.name] for field in fields(EnvironmentRecord)]
_STATUS_CHANGE_COLUMNS = [status_changes.c[field.name] for field in fields(StatusChangeRecord)]


class EnvironmentChanges(TypedDict, total=False):
    """Columns a caller may change through `update` / `record_status_change`.

    Identity (id, name, namespace, owner), bookkeeping (created_at, updated_at, version)
    and deletion (deleted_at, live_name) are written only by dedicated methods.
    """

    chart_name: str
    values: dict[str, Any]
    status: str
    status_reason: str
    status_message: str
    status_since: datetime
    status_observed_at: datetime
    failure_kind: str | None
    failed_at: datetime | None
    expires_at: datetime | None
    ever_running: bool
    lifecycle: str
    revision: int
    applied_revision: int | None
    operation: str | None
    operation_error: str | None
    status_memory: dict[str, Any]


_CHANGEABLE: Final = frozenset(EnvironmentChanges.__annotations__)


class EnvironmentRepository:
    """Reads and writes environments; see the module docstring for the guarantees."""

    def __init__(self, database: Database) -> None:
        self._db = database

    # -- creating ------------------------------------------------------------------

    async def create(
        self,
        *,
        name: str,
        chart_name: str,
        values: dict[str, Any],
        owner_token_id: int | None = None,
        status_reason: str = "CreateRequested",
        status_message: str = "",
        now: datetime | None = None,
    ) -> EnvironmentRecord:
        """Store a new environment: status starting, lifecycle creating, operation create,
        revision 1, namespace ``env-<id>``, plus its first history row (source ``api``).

        Raises `NameTaken` if a live environment already has `name`, and
        `UnsupportedJsonValue` if `values` cannot be stored exactly.
        """
        now = now or utc_now()
        json_codec.ensure_storable(values)
        row = {
            "name": name,
            "live_name": name,
            "chart_name": chart_name,
            "values": values,
            # Placeholder: the namespace is derived from the id, known only after insert.
            "namespace": "",
            "owner_token_id": owner_token_id,
            "status": INITIAL_STATUS,
            "status_reason": status_reason,
            "status_message": status_message,
            "status_since": now,
            "status_observed_at": now,
            "failure_kind": None,
            "failed_at": None,
            "expires_at": None,
            "ever_running": False,
            "lifecycle": INITIAL_LIFECYCLE,
            "revision": INITIAL_REVISION,
            "applied_revision": None,
            "operation": INITIAL_OPERATION,
            "operation_error": None,
            "status_memory": {},
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
            "version": 1,
        }
        try:
            async with self._db.write() as conn:
                result = await conn.execute(insert(environments).values(row))
                environment_id = inserted_id(result)
                await conn.execute(
                    update(environments)
                    .where(environments.c.id == environment_id)
                    .values(namespace=f"env-{environment_id}")
                )
                record = await _select_one(conn, environment_id, include_deleted=True)
                await self._append_status_change(
                    conn, record, from_status=None, source=CREATE_SOURCE, occurred_at=now
                )
                return record
        except IntegrityError as exc:
            # Every backend names the violated column or constraint in its message.
            if "live_name" in str(exc.orig):
                raise NameTaken(name) from exc
            raise

    # -- reading -------------------------------------------------------------------

    async def get(
        self, environment_id: int, *, include_deleted: bool = False
    ) -> EnvironmentRecord | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    _select_records(include_deleted).where(environments.c.id == environment_id)
                )
            ).one_or_none()
        return _to_record(row) if row is not None else None

    async def get_live_by_name(self, name: str) -> EnvironmentRecord | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(_select_records(True).where(environments.c.live_name == name))
            ).one_or_none()
        return _to_record(row) if row is not None else None

    async def list_live(self, *, owner_token_id: int | None = None) -> list[EnvironmentRecord]:
        """Live environments ordered by id, optionally only those one token created."""
        query = _select_records(False)
        if owner_token_id is not None:
            query = query.where(environments.c.owner_token_id == owner_token_id)
        return await self._fetch(query.order_by(environments.c.id))

    async def list_live_versions(self) -> dict[int, int]:
        """``{id: version}`` of every live environment, in id order.

        Cheap even for 10,000 environments (no JSON is decoded), so a reader can keep
        its own cache of decoded or rendered environments keyed by (id, version) and
        re-read only what changed with `list_by_ids`. Any write bumps the version.
        """
        query = (
            select(environments.c.id, environments.c.version)
            .where(environments.c.deleted_at.is_(None))
            .order_by(environments.c.id)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return {int(row[0]): int(row[1]) for row in rows}

    async def list_by_ids(
        self, environment_ids: Iterable[int], *, include_deleted: bool = False
    ) -> list[EnvironmentRecord]:
        """The environments among `environment_ids` that exist, ordered by id."""
        wanted = sorted(set(environment_ids))
        records: list[EnvironmentRecord] = []
        async with self._db.read() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                query = _select_records(include_deleted).where(environments.c.id.in_(chunk))
                rows = (await conn.execute(query.order_by(environments.c.id))).all()
                records.extend(_to_record(row) for row in rows)
        return records

    async def list_pending_operations(self) -> list[EnvironmentRecord]:
        """Live environments with background work still to do (for resuming at start)."""
        query = _select_records(False).where(environments.c.operation.is_not(None))
        return await self._fetch(query.order_by(environments.c.id))

    async def list_reapable(self, *, now: datetime | None = None) -> list[EnvironmentRecord]:
        """Live failed environments whose expiry has passed, soonest expiry first.

        Only candidates: the reaper re-checks its own conditions before deleting.
        """
        now = now or utc_now()
        query = _select_records(False).where(
            environments.c.status == FAILED_STATUS,
            environments.c.expires_at <= now,
        )
        return await self._fetch(query.order_by(environments.c.expires_at, environments.c.id))

    async def count(self, *, include_deleted: bool = False) -> int:
        query = select(func.count()).select_from(environments)
        if not include_deleted:
            query = query.where(environments.c.deleted_at.is_(None))
        async with self._db.read() as conn:
            return int(await conn.scalar(query) or 0)

    # -- writing -------------------------------------------------------------------

    async def update(
        self,
        environment_id: int,
        *,
        expected_version: int,
        now: datetime | None = None,
        **changes: Unpack[EnvironmentChanges],
    ) -> EnvironmentRecord:
        """Change columns if the row is still at `expected_version`; returns the new row.

        For changes of status, reason or failure kind use `record_status_change`, which
        also writes the history row. Raises `StaleRecord` or `EnvironmentRowMissing`.
        """
        values = _checked_changes(dict(changes))
        async with self._db.write() as conn:
            await _guarded_update(conn, environment_id, expected_version, values, now)
            return await _select_one(conn, environment_id, include_deleted=True)

    async def record_status_change(
        self,
        environment_id: int,
        *,
        expected_version: int,
        source: str,
        now: datetime | None = None,
        history_reason: str | None = None,
        history_message: str | None = None,
        **changes: Unpack[EnvironmentChanges],
    ) -> EnvironmentRecord:
        """Apply `changes` and append the matching ``status_changes`` row, atomically.

        The history row describes the row as stored afterwards: ``from_status`` is the
        status at `expected_version`, ``to_status``/``reason``/``message``/
        ``failure_kind``/``expires_at`` are the new values, ``occurred_at`` is `now`.
        ``history_reason``/``history_message`` replace the row's reason and message when the
        change is not a status of its own (an expiry kept by a client).
        Either both writes happen or neither does. Raises `StaleRecord` or
        `EnvironmentRowMissing`.
        """
        now = now or utc_now()
        values = _checked_changes(dict(changes))
        async with self._db.write() as conn:
            before = (
                await conn.execute(
                    select(environments.c.status, environments.c.version).where(
                        environments.c.id == environment_id
                    )
                )
            ).one_or_none()
            if before is None:
                raise EnvironmentRowMissing(environment_id)
            if before.version != expected_version:
                raise StaleRecord(environment_id, expected_version, before.version)
            # Still guarded: on READ COMMITTED another writer may slip in after the SELECT.
            await _guarded_update(conn, environment_id, expected_version, values, now)
            record = await _select_one(conn, environment_id, include_deleted=True)
            await self._append_status_change(
                conn,
                record,
                from_status=before.status,
                source=source,
                occurred_at=now,
                reason=history_reason,
                message=history_message,
            )
            return record

    async def set_operation(
        self,
        environment_id: int,
        *,
        expected_version: int,
        operation: str,
        now: datetime | None = None,
    ) -> EnvironmentRecord:
        """Queue background work (`create`, `rebuild`, `delete`); clears the last error."""
        return await self.update(
            environment_id,
            expected_version=expected_version,
            now=now,
            operation=operation,
            operation_error=None,
        )

    async def clear_operation(
        self,
        environment_id: int,
        *,
        expected_version: int,
        error: str | None = None,
        now: datetime | None = None,
    ) -> EnvironmentRecord:
        """Mark the pending work finished, keeping `error` if it ended in one."""
        return await self.update(
            environment_id,
            expected_version=expected_version,
            now=now,
            operation=None,
            operation_error=error,
        )

    async def mark_deleted(
        self,
        environment_id: int,
        *,
        expected_version: int,
        now: datetime | None = None,
        **changes: Unpack[EnvironmentChanges],
    ) -> EnvironmentRecord:
        """Soft-delete: set ``deleted_at``, free the name for reuse, apply `changes`, and
        append the history row that ends the environment (``to_status`` ``deleted``, source
        ``deployer``), which is also what the watch stream sends as DELETED."""
        now = now or utc_now()
        values = _checked_changes(dict(changes))
        values.update(deleted_at=now, live_name=None)
        async with self._db.write() as conn:
            await _guarded_update(conn, environment_id, expected_version, values, now)
            record = await _select_one(conn, environment_id, include_deleted=True)
            await self._append_status_change(
                conn,
                record,
                from_status=record.status,
                source=DELETION_SOURCE,
                occurred_at=now,
                to_status=DELETED_STATUS,
                reason="Deleted",
                message="",
            )
            return record

    # -- inventory -----------------------------------------------------------------

    async def set_inventory(
        self, environment_id: int, *, revision: int, objects: Iterable[ObjectRef]
    ) -> Inventory:
        """Replace the environment's recorded objects with `objects` of `revision`.

        Atomic: readers see the old set or the new one, never a mix. Duplicates in
        `objects` are stored once. Raises `EnvironmentRowMissing`.
        """
        unique = sorted(set(objects))
        async with self._db.write() as conn:
            exists = await conn.scalar(
                select(environments.c.id).where(environments.c.id == environment_id)
            )
            if exists is None:
                raise EnvironmentRowMissing(environment_id)
            await conn.execute(
                delete(environment_objects).where(
                    environment_objects.c.environment_id == environment_id
                )
            )
            if unique:
                await conn.execute(
                    insert(environment_objects),
                    [
                        {
                            "environment_id": environment_id,
                            "revision": revision,
                            "api_version": ref.api_version,
                            "kind": ref.kind,
                            "namespace": ref.namespace,
                            "name": ref.name,
                        }
                        for ref in unique
                    ],
                )
        return Inventory(revision=revision if unique else None, objects=tuple(unique))

    async def get_inventory(self, environment_id: int) -> Inventory:
        """The recorded objects (sorted); revision None if none are recorded."""
        query = (
            select(
                environment_objects.c.revision,
                environment_objects.c.api_version,
                environment_objects.c.kind,
                environment_objects.c.namespace,
                environment_objects.c.name,
            )
            .where(environment_objects.c.environment_id == environment_id)
            .order_by(
                environment_objects.c.api_version,
                environment_objects.c.kind,
                environment_objects.c.namespace,
                environment_objects.c.name,
            )
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        if not rows:
            return Inventory(revision=None, objects=())
        # Python sort, not the database's collation, defines the order callers see.
        objects = tuple(sorted(ObjectRef(r[1], r[2], r[3], r[4]) for r in rows))
        return Inventory(revision=int(rows[0][0]), objects=objects)

    async def list_inventory_kinds(self) -> frozenset[tuple[str, str]]:
        """Every (apiVersion, kind) recorded in the inventory of a live environment: the
        kinds the watcher must watch. One DISTINCT query, cheap at any scale."""
        query = (
            select(environment_objects.c.api_version, environment_objects.c.kind)
            .join(environments, environments.c.id == environment_objects.c.environment_id)
            .where(environments.c.deleted_at.is_(None))
            .distinct()
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return frozenset((str(row[0]), str(row[1])) for row in rows)

    # -- history -------------------------------------------------------------------

    async def latest_change_position(self) -> int:
        """The id of the newest ``status_changes`` row of any environment (0: none yet):
        the position in the outbox a watch starts after."""
        async with self._db.read() as conn:
            latest = (await conn.execute(select(func.max(status_changes.c.id)))).scalar()
        return int(latest or 0)

    async def list_changes_after(self, position: int, *, limit: int) -> list[StatusChangeRecord]:
        """Every environment's changes after ``position``, in the order written, at most
        ``limit`` (ids only grow: the outbox the watch stream reads)."""
        query = (
            select(*_STATUS_CHANGE_COLUMNS)
            .where(status_changes.c.id > position)
            .order_by(status_changes.c.id)
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [StatusChangeRecord(*row) for row in rows]

    async def list_status_changes(
        self, environment_id: int, *, after_id: int | None = None, limit: int | None = None
    ) -> list[StatusChangeRecord]:
        """The environment's status history, oldest first: the changes after the one with
        id ``after_id`` (all without it), at most ``limit`` of them."""
        query = (
            select(*_STATUS_CHANGE_COLUMNS)
            .where(status_changes.c.environment_id == environment_id)
            .order_by(status_changes.c.id)
        )
        if after_id is not None:
            query = query.where(status_changes.c.id > after_id)
        if limit is not None:
            query = query.limit(limit)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [StatusChangeRecord(*row) for row in rows]

    async def _append_status_change(
        self,
        conn: AsyncConnection,
        record: EnvironmentRecord,
        *,
        from_status: str | None,
        source: str,
        occurred_at: datetime,
        reason: str | None = None,
        message: str | None = None,
        to_status: str | None = None,
    ) -> None:
        await conn.execute(
            insert(status_changes).values(
                environment_id=record.id,
                occurred_at=occurred_at,
                from_status=from_status,
                to_status=record.status if to_status is None else to_status,
                reason=record.status_reason if reason is None else reason,
                message=record.status_message if message is None else message,
                failure_kind=record.failure_kind,
                expires_at=record.expires_at,
                source=source,
            )
        )

    async def _fetch(self, query: Select[Any]) -> list[EnvironmentRecord]:
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_to_record(row) for row in rows]


def _select_records(include_deleted: bool) -> Select[Any]:
    query = select(*_RECORD_COLUMNS)
    if not include_deleted:
        query = query.where(environments.c.deleted_at.is_(None))
    return query


def _to_record(row: Sequence[Any]) -> EnvironmentRecord:
    # Columns are selected in the dataclass's field order (see _RECORD_COLUMNS).
    return EnvironmentRecord(*row)


async def _select_one(
    conn: AsyncConnection, environment_id: int, *, include_deleted: bool
) -> EnvironmentRecord:
    query = _select_records(include_deleted).where(environments.c.id == environment_id)
    row = (await conn.execute(query)).one_or_none()
    if row is None:
        raise EnvironmentRowMissing(environment_id)
    return _to_record(row)


def _checked_changes(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - _CHANGEABLE
    if unknown:
        raise TypeError(f"not changeable through this method: {sorted(unknown)}")
    for column in ("values", "status_memory"):
        if column in changes:
            json_codec.ensure_storable(changes[column])
    return changes


async def _guarded_update(
    conn: AsyncConnection,
    environment_id: int,
    expected_version: int,
    values: dict[str, Any],
    now: datetime | None,
) -> None:
    """UPDATE ... WHERE version = expected, bumping the version; raise if nothing matched."""
    condition: Sequence[ColumnElement[bool]] = (
        environments.c.id == environment_id,
        environments.c.version == expected_version,
    )
    result: CursorResult[Any] = await conn.execute(
        update(environments)
        .where(*condition)
        .values(**values, version=expected_version + 1, updated_at=now or utc_now())
    )
    # MySQL dialects report matched (not changed) rows, so 1 means "version matched".
    if result.rowcount == 1:
        return
    actual = await conn.scalar(
        select(environments.c.version).where(environments.c.id == environment_id)
    )
    if actual is None:
        raise EnvironmentRowMissing(environment_id)
    raise StaleRecord(environment_id, expected_version, int(actual))
