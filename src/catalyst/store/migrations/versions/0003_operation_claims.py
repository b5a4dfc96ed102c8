"""Operation claims: which replica runs an environment's pending operation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from catalyst.store.types import UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE_OPTIONS: dict[str, Any] = {
    "sqlite_autoincrement": True,
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def upgrade() -> None:
    op.create_table(
        "operation_claims",
        sa.Column("environment_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(253), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environments.id"],
            name="fk_operation_claims_environment_id_environments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("environment_id", name="pk_operation_claims"),
        if_not_exists=True,
        **_TABLE_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table("operation_claims", if_exists=True)
