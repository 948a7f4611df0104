"""The current shape of the session store, as SQLAlchemy Core tables used by the queries.

The tables are created and changed only by the named steps in ``migrations.py``; a test checks that a migrated
database matches these definitions. Times are UTC seconds since the epoch (REAL / double precision): they sort,
compare and convert cheaply on every backend.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("applied_at", Float, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("title", Text),
    Column("project_dir", Text, nullable=False),
    Column("git_head", String(64)),
    Column("backend", String(50), nullable=False),
    Column("model", Text, nullable=False),
    Column("prompt_name", String(200), nullable=False),
    Column("prompt_version", String(50), nullable=False),
    Column("system_prompt", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("status", String(20), nullable=False),
    Column("parent_id", String(32), ForeignKey("sessions.id", ondelete="SET NULL")),
    Column("usage", JSON(none_as_null=True)),
    # Denormalised so that listing sessions is one indexed query with no join or count.
    Column("message_count", Integer, nullable=False),
    # What the model is sent after compaction: {"summary": text, "dropped": stored messages it replaces}.
    Column("compaction", JSON(none_as_null=True)),
    # While a process works on the session: {"pid", "host", "boot", "start"} (memory.owner); NULL otherwise.
    Column("owner", JSON(none_as_null=True)),
    Index("ix_sessions_created", "created_at", "id"),
    Index("ix_sessions_project_created", "project_dir", "created_at", "id"),
    Index("ix_sessions_parent", "parent_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("role", String(20), nullable=False),
    Column("content", Text),
    Column("tool_calls", JSON(none_as_null=True)),
    Column("tool_call_id", String(200)),
    Column("name", String(200)),
    Column("usage", JSON(none_as_null=True)),
    Column("created_at", Float, nullable=False),
    # Also the index that loads a session in order.
    UniqueConstraint("session_id", "seq", name="uq_messages_session_seq"),
)

tool_runs = Table(
    "tool_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="SET NULL")),
    Column("tool_call_id", String(200)),
    Column("name", String(200), nullable=False),
    Column("arguments", Text, nullable=False),
    Column("result", Text),
    Column("duration_s", Float),
    Column("error", Text),
    Column("created_at", Float, nullable=False),
    Index("ix_tool_runs_session", "session_id", "id"),
)

blobs = Table(
    "blobs",
    metadata,
    Column("hash", String(64), primary_key=True),  # sha256 hex of content
    Column("content", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
)

file_changes = Table(
    "file_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("tool_run_id", Integer, ForeignKey("tool_runs.id", ondelete="SET NULL")),
    Column("path", Text, nullable=False),
    Column("before_hash", String(64), ForeignKey("blobs.hash")),  # NULL: the file did not exist
    Column("after_hash", String(64), ForeignKey("blobs.hash")),  # NULL: the file was deleted
    Column("diff", Text, nullable=False),
    Column("undone", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
    # Permission bits (st_mode & 0o7777) on each side; NULL: the file was absent, or recorded before 0004.
    Column("before_mode", Integer),
    Column("after_mode", Integer),
    Index("ix_file_changes_session", "session_id", "id"),
    # Let blob garbage collection find remaining references without a scan.
    Index("ix_file_changes_before", "before_hash"),
    Index("ix_file_changes_after", "after_hash"),
)
