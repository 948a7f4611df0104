from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, inspect, text

from memory import SchemaTooNew, Store
from memory.engine import open_engine
from memory.migrations import STEPS, applied_steps, migrate
from memory.schema import metadata

from .conftest import new_session, sqlite_url


def _recorded(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [name for (name,) in conn.execute("SELECT name FROM schema_migrations ORDER BY applied_at")]


def test_fresh_database_gets_every_step_and_the_sqlite_settings(db_path: Path) -> None:
    Store(sqlite_url(db_path)).close()
    assert _recorded(db_path) == [name for name, _ in STEPS]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    engine, where = open_engine(sqlite_url(db_path), busy_timeout_s=7)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 7000
    engine.dispose()


def test_reopening_is_idempotent_and_keeps_data(db_path: Path) -> None:
    with Store(sqlite_url(db_path)) as store:
        session_id = new_session(store)
    for _ in range(2):
        with Store(sqlite_url(db_path)) as store:
            assert store.get_session(session_id).model == "gpt-test"
    assert _recorded(db_path) == [name for name, _ in STEPS]


def test_migrated_database_matches_the_schema_module(db_path: Path) -> None:
    """The frozen steps and schema.py must describe the same tables, columns and indexes."""
    Store(sqlite_url(db_path)).close()
    engine = create_engine(sqlite_url(db_path))
    inspector = inspect(engine)
    for table in metadata.sorted_tables:
        assert {c["name"] for c in inspector.get_columns(table.name)} == {c.name for c in table.columns}
        assert {i["name"] for i in inspector.get_indexes(table.name)} == {i.name for i in table.indexes}
    engine.dispose()


def test_database_from_a_newer_kiri_is_refused(db_path: Path) -> None:
    Store(sqlite_url(db_path)).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES ('0099_from_the_future', 9e9)")
    with pytest.raises(SchemaTooNew) as raised:
        Store(sqlite_url(db_path))
    message = str(raised.value)
    assert "\n" not in message
    assert str(db_path) in message and "'0099_from_the_future'" in message and "upgrade kiri" in message


def test_older_database_gets_the_missing_steps_without_losing_data(db_path: Path) -> None:
    engine, where = open_engine(sqlite_url(db_path))
    assert migrate(engine, where, STEPS[:1]) == [STEPS[0][0]]  # a database written by the first release
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sessions (id, project_dir, backend, model, prompt_name, prompt_version, created_at,"
                " updated_at, status, message_count) VALUES (:id, '/p', 'remote', 'm', 'default', '1.0.0', 1, 1,"
                " 'done', 1)"
            ),
            {"id": "ab" * 16},
        )
        conn.execute(
            text(
                "INSERT INTO messages (session_id, seq, role, content, created_at) VALUES (:id, 1, 'user', 'hi', 1)"
            ),
            {"id": "ab" * 16},
        )
    engine.dispose()

    with Store(sqlite_url(db_path)) as store:
        assert store.messages_for_model("ab" * 16) == [{"role": "user", "content": "hi"}]
        assert store.list_sessions()[0].id == "ab" * 16
        assert store.get_session("ab" * 16).compaction is None  # a column added by a later step
        store.update_session("ab" * 16, compaction={"summary": "s", "dropped": 1})
        assert store.get_session("ab" * 16).compaction == {"summary": "s", "dropped": 1}
    assert _recorded(db_path) == [name for name, _ in STEPS]
    with sqlite3.connect(db_path) as conn:
        assert "ix_sessions_created" in {row[1] for row in conn.execute("PRAGMA index_list(sessions)")}


def test_a_new_step_adds_to_existing_data(db_path: Path) -> None:
    with Store(sqlite_url(db_path)) as store:
        session_id = new_session(store)
        store.append_message(session_id, "user", "keep me")

    def add_pinned(conn: Connection) -> None:
        conn.execute(text("ALTER TABLE sessions ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0"))

    engine, where = open_engine(sqlite_url(db_path))
    assert migrate(engine, where, [*STEPS, ("0099_pinned", add_pinned)]) == ["0099_pinned"]
    assert migrate(engine, where, [*STEPS, ("0099_pinned", add_pinned)]) == []
    with engine.connect() as conn:
        assert applied_steps(conn)[-1] == "0099_pinned"
        assert conn.execute(text("SELECT pinned FROM sessions")).scalar() == 0
        assert conn.execute(text("SELECT content FROM messages WHERE seq = 1")).scalar() == "keep me"
    engine.dispose()


def test_postgresql_migrates_and_refuses_a_newer_schema(postgres_url: str) -> None:
    with Store(postgres_url) as store:
        new_session(store)
    Store(postgres_url).close()  # second open: nothing to do
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        assert applied_steps(conn) == [name for name, _ in STEPS]
        conn.execute(text("INSERT INTO schema_migrations VALUES ('0099_from_the_future', 9e9)"))
    engine.dispose()
    with pytest.raises(SchemaTooNew, match="newer kiri"):
        Store(postgres_url)
