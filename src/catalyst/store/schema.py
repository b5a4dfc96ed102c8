"""The database schema: SQLAlchemy Core tables, identical on SQLite, PostgreSQL and MariaDB.

This is the single description of the schema (see ``docs/dev/catalyst-internals.md``);
the Alembic migrations in ``migrations/versions`` create exactly these tables, and a test
compares the migrated database with this metadata.

Portability decisions, and why:

- Primary keys are autoincrement integers that are never reused: SQLite gets the
  ``AUTOINCREMENT`` keyword (``sqlite_autoincrement``), PostgreSQL uses a sequence and
  MariaDB InnoDB a persisted ``AUTO_INCREMENT`` counter. Environment ids stay plain
  ``INTEGER`` because Patchdemo keeps them in a SMALLINT UNSIGNED column; the two
  fast-growing tables use ``BIGINT`` (``INTEGER`` on SQLite, where only ``INTEGER PRIMARY
  KEY`` is an alias of the rowid and can carry ``AUTOINCREMENT``).
- Strings that are indexed are short enough for MariaDB's 3072-byte index key limit in
  utf8mb4 (4 bytes per character). MariaDB tables use ``utf8mb4_bin`` so comparisons are
  byte-exact like on the other two backends.
- ``live_name`` is ``name`` while the environment is live and NULL once deleted. A plain
  UNIQUE constraint then enforces "one live environment per name" everywhere, because all
  three databases allow many NULLs in a unique column (no partial indexes needed).
- All timestamps are `UtcDateTime` (aware UTC in, aware UTC out, microseconds kept).
- Rows are never hard-deleted from ``environments`` (soft delete via ``deleted_at``), so the
  foreign keys exist to catch bugs, not to cascade business data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    CHAR,
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from catalyst.store.types import UtcDateTime

# Deterministic constraint names, so migrations and metadata agree on every backend.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Options every table gets; keys for other dialects are ignored by each dialect.
TABLE_OPTIONS: dict[str, Any] = {
    "sqlite_autoincrement": True,
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}

# Lengths (characters). Kubernetes limits where they exist.
NAME_LENGTH = 53  # Helm release names
K8S_NAME_LENGTH = 253  # DNS-1123 subdomain (object names)
K8S_LABEL_LENGTH = 63  # DNS-1123 label (namespaces, kinds in practice)
API_VERSION_LENGTH = 255  # "<group>/<version>"; group is a DNS subdomain
CHART_NAME_LENGTH = 253
ENUM_LENGTH = 16  # status, lifecycle, operation, failure kind, source
REASON_LENGTH = 255
TOKEN_NAME_LENGTH = 100
SHA256_HEX_LENGTH = 64

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# BIGINT where the dialect allows it for an autoincrement key; see the module docstring.
BigId = BigInteger().with_variant(Integer(), "sqlite")

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(TOKEN_NAME_LENGTH), nullable=False),
    Column("token_hash", CHAR(SHA256_HEX_LENGTH), nullable=False),
    Column("admin", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("name"),
    UniqueConstraint("token_hash"),
    **TABLE_OPTIONS,
)

environments = Table(
    "environments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(NAME_LENGTH), nullable=False),
    Column("live_name", String(NAME_LENGTH), nullable=True),
    Column("chart_name", String(CHART_NAME_LENGTH), nullable=False),
    Column("values", JSON, nullable=False),
    Column("namespace", String(K8S_LABEL_LENGTH), nullable=False),
    Column(
        "owner_token_id",
        Integer,
        ForeignKey("api_tokens.id", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("status", String(ENUM_LENGTH), nullable=False),
    Column("status_reason", String(REASON_LENGTH), nullable=False),
    Column("status_message", Text, nullable=False),
    Column("status_since", UtcDateTime, nullable=False),
    Column("status_observed_at", UtcDateTime, nullable=False),
    Column("failure_kind", String(ENUM_LENGTH), nullable=True),
    Column("failed_at", UtcDateTime, nullable=True),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("ever_running", Boolean, nullable=False),
    Column("lifecycle", String(ENUM_LENGTH), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("applied_revision", Integer, nullable=True),
    Column("operation", String(ENUM_LENGTH), nullable=True),
    Column("operation_error", Text, nullable=True),
    Column("status_memory", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("deleted_at", UtcDateTime, nullable=True),
    Column("version", Integer, nullable=False),
    UniqueConstraint("live_name"),
    # Listing by status, the reaper (status + expires_at), resuming pending operations and
    # "live only" filters each get an index.
    Index(None, "status", "expires_at"),
    Index(None, "expires_at"),
    Index(None, "deleted_at"),
    Index(None, "operation"),
    Index(None, "owner_token_id"),
    **TABLE_OPTIONS,
)

environment_objects = Table(
    "environment_objects",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "environment_id",
        Integer,
        ForeignKey("environments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("revision", Integer, nullable=False),
    Column("api_version", String(API_VERSION_LENGTH), nullable=False),
    Column("kind", String(K8S_LABEL_LENGTH), nullable=False),
    Column("namespace", String(K8S_LABEL_LENGTH), nullable=False),
    Column("name", String(K8S_NAME_LENGTH), nullable=False),
    # Its leading column also serves "all objects of one environment".
    # Named explicitly: the generated name would be truncated differently per dialect.
    UniqueConstraint(
        "environment_id",
        "api_version",
        "kind",
        "namespace",
        "name",
        name="uq_environment_objects_identity",
    ),
    **TABLE_OPTIONS,
)

status_changes = Table(
    "status_changes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "environment_id",
        Integer,
        ForeignKey("environments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("from_status", String(ENUM_LENGTH), nullable=True),
    Column("to_status", String(ENUM_LENGTH), nullable=False),
    Column("reason", String(REASON_LENGTH), nullable=False),
    Column("message", Text, nullable=False),
    Column("failure_kind", String(ENUM_LENGTH), nullable=True),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("source", String(ENUM_LENGTH), nullable=False),
    # History of one environment, in insertion order.
    Index(None, "environment_id", "id"),
    **TABLE_OPTIONS,
)

watcher_heartbeat = Table(
    "watcher_heartbeat",
    metadata,
    # A single row (id 1): the leader's watcher reports how fresh its data is, so every
    # replica's API can mark statuses stale without talking to the leader.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("holder", String(K8S_NAME_LENGTH), nullable=False),
    Column("synced", Boolean, nullable=False),
    Column("fresh_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    **TABLE_OPTIONS,
)

operation_claims = Table(
    "operation_claims",
    metadata,
    # Which replica runs an environment's pending operation, until when (renewed while it
    # runs). No row, or an expired one: any replica may take the operation over.
    Column(
        "environment_id",
        Integer,
        ForeignKey("environments.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("holder", String(K8S_NAME_LENGTH), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    **TABLE_OPTIONS,
)

URL_LENGTH = 2048
WEBHOOK_SECRET_LENGTH = 64  # "whsec_" + base64 of 32 bytes (44 characters)
MESSAGE_ID_LENGTH = 64

webhooks = Table(
    "webhooks",
    metadata,
    # A Standard Webhooks subscription. ``delivered_position`` is the outbox position (a
    # ``status_changes`` id) up to which every change is done for this webhook: delivered
    # with a 2xx, or not meant for it. It only moves after a 2xx, in the transaction that
    # records the attempt, so a delivered change is never sent again (see
    # `catalyst.store.webhooks`).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", String(URL_LENGTH), nullable=False),
    Column("events", JSON, nullable=False),
    Column("secret", String(WEBHOOK_SECRET_LENGTH), nullable=False),
    Column(
        "owner_token_id",
        Integer,
        ForeignKey("api_tokens.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("admin", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_position", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("failing_since", UtcDateTime, nullable=True),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("disabled_at", UtcDateTime, nullable=True),
    Column("disabled_reason", Text, nullable=True),
    Index(None, "owner_token_id"),
    **TABLE_OPTIONS,
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # Recent delivery attempts of each webhook (the newest few kept; older ones deleted
    # by the transaction that records a new one).
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "webhook_id",
        Integer,
        ForeignKey("webhooks.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_position", BigInteger, nullable=False),
    Column("message_id", String(MESSAGE_ID_LENGTH), nullable=False),
    Column("attempted_at", UtcDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("succeeded", Boolean, nullable=False),
    Index(None, "webhook_id", "id"),
    **TABLE_OPTIONS,
)
