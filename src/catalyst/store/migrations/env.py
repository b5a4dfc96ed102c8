"""Alembic environment: runs on a connection handed over by `catalyst.store.migrate`.

Only "online" mode on a caller-supplied connection is supported. The caller opens the
transaction (and takes the migration lock) before handing the connection over, so Alembic
sees an external transaction and neither begins nor commits one itself; that is what makes
the whole upgrade one transaction on PostgreSQL and SQLite.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from catalyst.store.schema import metadata


def _run_online(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; use `catalyst migrate`")

_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("run migrations through catalyst.store.migrate (it supplies the connection)")
_run_online(_connection)
