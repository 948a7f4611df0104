"""Ordered, named schema steps, recorded in ``schema_migrations`` and applied when a store is opened.

Each step is frozen once released: it builds its own table definitions here rather than using ``schema.py``,
so a later change to the current schema cannot change what an old step does. A change to the schema is a new
step appended to ``STEPS``; steps only add (tables, columns, indexes) and never drop user data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Engine,
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
    inspect,
    select,
    text,
)

from .engine import transaction
from .errors import SchemaTooNew
from .schema import schema_migrations

Step = tuple[str, Callable[[Connection], None]]

_PG_MIGRATION_LOCK = 0x6B697269  # "kiri": serialises concurrent first opens of a PostgreSQL database


def _core_tables(conn: Connection) -> None:
    """Sessions, messages, tool runs, file changes and content-addressed blobs."""
    md = MetaData()
    Table(
        "sessions",
        md,
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
        Column("usage", JSON),
        Column("message_count", Integer, nullable=False),
    )
    Table(
        "messages",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("session_id", String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        Column("seq", Integer, nullable=False),
        Column("role", String(20), nullable=False),
        Column("content", Text),
        Column("tool_calls", JSON),
        Column("tool_call_id", String(200)),
        Column("name", String(200)),
        Column("usage", JSON),
        Column("created_at", Float, nullable=False),
        UniqueConstraint("session_id", "seq", name="uq_messages_session_seq"),
    )
    Table(
        "tool_runs",
        md,
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
    )
    Table(
        "blobs",
        md,
        Column("hash", String(64), primary_key=True),
        Column("content", LargeBinary, nullable=False),
        Column("size", Integer, nullable=False),
    )
    Table(
        "file_changes",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("session_id", String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        Column("tool_run_id", Integer, ForeignKey("tool_runs.id", ondelete="SET NULL")),
        Column("path", Text, nullable=False),
        Column("before_hash", String(64), ForeignKey("blobs.hash")),
        Column("after_hash", String(64), ForeignKey("blobs.hash")),
        Column("diff", Text, nullable=False),
        Column("undone", Boolean, nullable=False),
        Column("created_at", Float, nullable=False),
    )
    md.create_all(conn)


def _indexes(conn: Connection) -> None:
    """Indexes for listing newest first (all / per project), per-session loads and blob garbage collection."""
    md = MetaData()
    md.reflect(conn, only=["sessions", "tool_runs", "file_changes"])
    sessions, tool_runs, changes = md.tables["sessions"], md.tables["tool_runs"], md.tables["file_changes"]
    for index in (
        Index("ix_sessions_created", sessions.c.created_at, sessions.c.id),
        Index("ix_sessions_project_created", sessions.c.project_dir, sessions.c.created_at, sessions.c.id),
        Index("ix_sessions_parent", sessions.c.parent_id),
        Index("ix_tool_runs_session", tool_runs.c.session_id, tool_runs.c.id),
        Index("ix_file_changes_session", changes.c.session_id, changes.c.id),
        Index("ix_file_changes_before", changes.c.before_hash),
        Index("ix_file_changes_after", changes.c.after_hash),
    ):
        index.create(conn)


def _session_compaction(conn: Connection) -> None:
    """sessions.compaction: the summary that replaces a session's older messages in what the model is sent."""
    column_type = JSON().compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE sessions ADD COLUMN compaction {column_type}"))


def _file_change_modes(conn: Connection) -> None:
    """file_changes.before_mode / after_mode: permission bits on each side, so undo restores them."""
    for side in ("before", "after"):
        conn.execute(text(f"ALTER TABLE file_changes ADD COLUMN {side}_mode INTEGER"))


def _session_owner(conn: Connection) -> None:
    """sessions.owner: the process that has an active session open, so a killed one is not shown as active."""
    column_type = JSON().compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE sessions ADD COLUMN owner {column_type}"))


STEPS: tuple[Step, ...] = (
    ("0001_core_tables", _core_tables),
    ("0002_indexes", _indexes),
    ("0003_session_compaction", _session_compaction),
    ("0004_file_change_modes", _file_change_modes),
    ("0005_session_owner", _session_owner),
)


def applied_steps(conn: Connection) -> list[str]:
    """Names of the steps recorded in the database, oldest first ([] for an empty database)."""
    if not inspect(conn).has_table("schema_migrations"):
        return []
    rows = conn.execute(select(schema_migrations.c.name).order_by(schema_migrations.c.applied_at))
    return [name for (name,) in rows]


def _check_known(applied: Sequence[str], steps: Sequence[Step], where: str) -> None:
    known = {name for name, _ in steps}
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise SchemaTooNew(
            f"database {where} was written by a newer kiri (schema step {unknown[0]!r}); upgrade kiri"
        )


def migrate(engine: Engine, where: str, steps: Sequence[Step] = STEPS) -> list[str]:
    """Apply the steps the database lacks, in order, in one transaction; return their names.

    Opening an up-to-date database costs one read. Concurrent first opens are serialised (SQLite write lock,
    PostgreSQL advisory lock) and the applied steps are read again under the lock.
    """
    with transaction(engine, where, write=False) as conn:
        applied = applied_steps(conn)
    _check_known(applied, steps, where)
    if len(set(applied)) == len(steps):
        return []
    with transaction(engine, where, write=True) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        schema_migrations.create(conn, checkfirst=True)
        done = set(applied_steps(conn))
        _check_known(sorted(done), steps, where)
        new: list[str] = []
        for name, step in steps:
            if name in done:
                continue
            step(conn)
            # Distinct, increasing times keep the recorded order even when steps run within one clock tick.
            conn.execute(
                schema_migrations.insert().values(name=name, applied_at=time.time() + len(new) * 1e-6)
            )
            new.append(name)
        return new
