"""File changes keep each side's permission bits, and a batch of changes is recorded whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event

from memory import DatabaseUnavailable, Store

from .conftest import new_session, sqlite_url


def test_file_change_modes_round_trip(store: Store) -> None:
    session_id = new_session(store)
    moded = store.record_file_change(
        session_id, path="run.sh", before=b"a\n", after=b"b\n", diff="", before_mode=0o755, after_mode=0o700
    )
    plain = store.record_file_change(session_id, path="x.txt", before=None, after=b"x\n", diff="+x\n")
    changes = {c.id: c for c in store.file_changes(session_id)}
    assert (changes[moded].before_mode, changes[moded].after_mode) == (0o755, 0o700)
    assert (changes[plain].before_mode, changes[plain].after_mode) == (None, None)
    exported = store.export(session_id, "json")
    assert '"before_mode": 493' in exported


def test_record_file_changes_is_all_or_none_when_the_database_is_full(db_path: Path) -> None:
    with Store(sqlite_url(db_path)) as store:
        session_id = new_session(store)

        @event.listens_for(store._engine, "connect")
        def _full(dbapi_connection, _record) -> None:  # noqa: ANN001 (DBAPI objects are untyped)
            pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 2}")

        store._engine.dispose()  # pooled connections were opened before the limit
        small = {"path": "a.txt", "before": b"a\n", "after": b"b\n", "diff": "-a\n+b\n", "after_mode": 0o644}
        big = {"path": "big.bin", "before": None, "after": b"z" * 100_000, "diff": "binary"}
        with pytest.raises(DatabaseUnavailable, match="full"):
            store.record_file_changes(session_id, [small, big])
        assert store.file_changes(session_id, include_undone=True) == []
        assert store.record_file_changes(session_id, [small]) != []  # the small one alone still fits
