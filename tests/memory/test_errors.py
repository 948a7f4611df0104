"""Problems a user can cause give the right StoreError subclass with a one-line message."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from memory import AmbiguousSession, DatabaseUnavailable, SessionNotFound, Store, StoreError

from .conftest import new_session, sqlite_url


def _one_line(err: pytest.ExceptionInfo[StoreError]) -> str:
    message = str(err.value)
    assert message and "\n" not in message
    return message


def test_unknown_and_malformed_ids(db_path: Path) -> None:
    with Store(sqlite_url(db_path)) as store:
        session_id = new_session(store)
        assert store.resolve_id(session_id) == session_id
        assert store.resolve_id(session_id[:4].upper()) == session_id
        with pytest.raises(SessionNotFound) as err:
            store.resolve_id("0000" if not session_id.startswith("0000") else "ffff")
        assert str(db_path) in _one_line(err)
        with pytest.raises(SessionNotFound, match="at least 4 characters") as err:
            store.resolve_id(session_id[:3])
        _one_line(err)
        with pytest.raises(SessionNotFound, match="32 hex"):
            store.resolve_id("zzzz-not-hex")


def test_ambiguous_prefix_lists_candidates(db_path: Path) -> None:
    with Store(sqlite_url(db_path)) as store:
        ids = [new_session(store) for _ in range(40)]
        # With 40 random ids two share a first hex digit; give the store two sharing a 4-character prefix.
        twins = ["abcd" + "0" * 28, "abcd" + "1" * 28]
        with sqlite3.connect(db_path) as conn:
            for twin in twins:
                conn.execute(
                    "INSERT INTO sessions (id, project_dir, backend, model, prompt_name, prompt_version, created_at,"
                    " updated_at, status, message_count) VALUES (?, '/p', 'remote', 'm', 'd', '1', 1, 1, 'done', 0)",
                    (twin,),
                )
        with pytest.raises(AmbiguousSession) as err:
            store.resolve_id("abcd")
        message = _one_line(err)
        assert twins[0] in message and twins[1] in message and "more characters" in message
        assert store.resolve_id("abcd1") == twins[1]
        listed = {s.id: s.short_id for s in store.list_sessions(limit=100)}
        assert listed[twins[0]] == "abcd" + "0" * 4 and len(listed) == len(ids) + 2


def test_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "kiri.sqlite3"
    path.write_bytes(b"this is not a database, just some text that someone saved here\n" * 64)
    with pytest.raises(DatabaseUnavailable) as err:
        Store(sqlite_url(path))
    message = _one_line(err)
    assert str(path) in message and "corrupt or not a kiri database" in message


def test_unwritable_locations(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(DatabaseUnavailable, match="cannot create directory") as err:
        Store(sqlite_url(blocker / "sub" / "kiri.sqlite3"))
    assert str(blocker) in _one_line(err)
    (tmp_path / "dir.sqlite3").mkdir()
    with pytest.raises(DatabaseUnavailable, match="is a directory"):
        Store(sqlite_url(tmp_path / "dir.sqlite3"))


def test_locked_database_gives_up_after_the_busy_timeout(db_path: Path) -> None:
    with Store(sqlite_url(db_path)) as store:
        session_id = new_session(store)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a long write
    try:
        with Store(sqlite_url(db_path), busy_timeout_s=0.2) as store:
            assert store.get_session(session_id).id == session_id  # WAL: readers are not blocked
            with pytest.raises(DatabaseUnavailable) as err:
                store.append_message(session_id, "user", "blocked")
            message = _one_line(err)
            assert "locked by another process" in message and str(db_path) in message
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Store(sqlite_url(db_path)) as store:
        store.append_message(session_id, "user", "after the lock")  # nothing was left half-written
        assert store.messages_for_model(session_id)[-1]["content"] == "after the lock"


def test_bad_urls() -> None:
    with pytest.raises(StoreError, match="unsupported database URL scheme") as err:
        Store("nosuchdb://somewhere/db")
    _one_line(err)
    with pytest.raises(StoreError, match="invalid database URL"):
        Store("not a url at all")
    with pytest.raises(StoreError, match="driver .* is not installed"):
        Store("mysql+pymysql://u@h/db")  # a real dialect whose driver is not installed here


def test_default_location_follows_kiri_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home" / "kiri"
    monkeypatch.setenv("KIRI_HOME", str(home))
    with Store() as store:
        new_session(store)
        assert store.where == str(home / "kiri.sqlite3")
    assert (home / "kiri.sqlite3").is_file()


def test_unreachable_postgresql(tmp_path: Path) -> None:
    pytest.importorskip("psycopg", reason="needs the psycopg driver")
    with pytest.raises(DatabaseUnavailable, match="unavailable") as err:
        Store(f"postgresql+psycopg://kiri:secret@/kiri?host={tmp_path}&port=1", busy_timeout_s=1)
    message = _one_line(err)
    assert "secret" not in message
