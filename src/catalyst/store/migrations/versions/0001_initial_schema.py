"""Initial schema: api_tokens, environments, environment_objects, status_changes.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Every statement is IF NOT EXISTS so that a MariaDB start that died half-way (DDL there
commits statement by statement) is completed by the next start. The definitions are
written out here rather than imported from `catalyst.store.schema`, so later schema
changes can never rewrite history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from catalyst.store.types import UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE_OPTIONS: dict[str, Any] = {
    "sqlite_autoincrement": True,
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.CHAR(64), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("name", name="uq_api_tokens_name"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        if_not_exists=True,
        **_TABLE_OPTIONS,
    )
    op.create_table(
        "environments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(53), nullable=False),
        sa.Column("live_name", sa.String(53), nullable=True),
        sa.Column("chart_name", sa.String(253), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("namespace", sa.String(63), nullable=False),
        sa.Column("owner_token_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.String(255), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=False),
        sa.Column("status_since", UtcDateTime(), nullable=False),
        sa.Column("status_observed_at", UtcDateTime(), nullable=False),
        sa.Column("failure_kind", sa.String(16), nullable=True),
        sa.Column("failed_at", UtcDateTime(), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("ever_running", sa.Boolean(), nullable=False),
        sa.Column("lifecycle", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("applied_revision", sa.Integer(), nullable=True),
        sa.Column("operation", sa.String(16), nullable=True),
        sa.Column("operation_error", sa.Text(), nullable=True),
        sa.Column("status_memory", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("deleted_at", UtcDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_environments"),
        sa.UniqueConstraint("live_name", name="uq_environments_live_name"),
        sa.ForeignKeyConstraint(
            ["owner_token_id"],
            ["api_tokens.id"],
            name="fk_environments_owner_token_id_api_tokens",
            ondelete="SET NULL",
        ),
        if_not_exists=True,
        **_TABLE_OPTIONS,
    )
    for name, columns in (
        ("ix_environments_status_expires_at", ["status", "expires_at"]),
        ("ix_environments_expires_at", ["expires_at"]),
        ("ix_environments_deleted_at", ["deleted_at"]),
        ("ix_environments_operation", ["operation"]),
        ("ix_environments_owner_token_id", ["owner_token_id"]),
    ):
        op.create_index(name, "environments", columns, if_not_exists=True)

    op.create_table(
        "environment_objects",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("api_version", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(63), nullable=False),
        sa.Column("namespace", sa.String(63), nullable=False),
        sa.Column("name", sa.String(253), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_environment_objects"),
        sa.UniqueConstraint(
            "environment_id",
            "api_version",
            "kind",
            "namespace",
            "name",
            name="uq_environment_objects_identity",
        ),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environments.id"],
            name="fk_environment_objects_environment_id_environments",
            ondelete="CASCADE",
        ),
        if_not_exists=True,
        **_TABLE_OPTIONS,
    )

    op.create_table(
        "status_changes",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("failure_kind", sa.String(16), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_status_changes"),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environments.id"],
            name="fk_status_changes_environment_id_environments",
            ondelete="CASCADE",
        ),
        if_not_exists=True,
        **_TABLE_OPTIONS,
    )
    op.create_index(
        "ix_status_changes_environment_id_id",
        "status_changes",
        ["environment_id", "id"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("status_changes", if_exists=True)
    op.drop_table("environment_objects", if_exists=True)
    op.drop_table("environments", if_exists=True)
    op.drop_table("api_tokens", if_exists=True)
