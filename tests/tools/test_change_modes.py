"""File modes through write, record and undo; and an edit whose record fails leaves the disk as it was."""

from __future__ import annotations

import stat
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import event

from memory import DatabaseUnavailable, Store
from tools import Gate, ToolContext
from tools.changes import net_diff, undo
from tools.context import RecordedChange
from tools.gate import executable, new_file_mode
from tools.registry import Registry


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _fill(store: Store) -> None:
    """Let the database grow no further, as on a full disk: real SQLite answers 'database or disk is full'."""

    @event.listens_for(store._engine, "connect")
    def _limit(dbapi_connection, _record) -> None:  # noqa: ANN001 (DBAPI objects are untyped)
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    store._engine.dispose()  # pooled connections were opened before the limit


def test_write_bytes_sets_the_mode_on_the_new_bytes(workspace: Path) -> None:
    gate = Gate(workspace, mode="full-auto")
    target = workspace / "private.txt"
    target.write_bytes(b"old\n")
    target.chmod(0o644)
    gate.write_bytes("private.txt", b"new\n", 0o600)
    assert target.read_bytes() == b"new\n" and _mode(target) == 0o600
    gate.write_bytes("private.txt", b"newer\n")  # no mode: the file keeps its own
    assert _mode(target) == 0o600
    gate.write_bytes("fresh.sh", b"echo\n", 0o750)
    assert _mode(workspace / "fresh.sh") == 0o750
    assert gate.file_mode("fresh.sh") == 0o750 and gate.file_mode("absent") is None


def test_executable_adds_execute_bits_only_where_there_is_read() -> None:
    assert executable(0o644) == 0o755
    assert executable(0o600) == 0o700
    assert executable(0o640) == 0o750
    assert new_file_mode() & 0o111 == 0


def test_modes_are_recorded_and_undo_restores_the_recorded_one(
    registry: Registry, store: Store, session: str, sctx: ToolContext, workspace: Path
) -> None:
    private = workspace / "token.txt"
    private.write_bytes(b"secret\n")
    private.chmod(0o600)
    patch = "--- a/token.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-secret\n"
    assert not registry.call("apply_patch", {"patch": patch}, sctx).is_error
    (change,) = store.file_changes(session)
    assert (change.before_mode, change.after_mode) == (0o600, None)
    undo(store, session)
    assert private.read_bytes() == b"secret\n" and _mode(private) == 0o600


def test_a_mode_only_patch_is_recorded_with_git_mode_lines(
    registry: Registry, store: Store, session: str, sctx: ToolContext, workspace: Path
) -> None:
    script = workspace / "run.sh"
    script.write_bytes(b"echo\n")
    script.chmod(0o640)
    patch = "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"
    assert not registry.call("apply_patch", {"patch": patch}, sctx).is_error
    assert _mode(script) == 0o750
    (change,) = store.file_changes(session)
    assert (change.before_mode, change.after_mode) == (0o640, 0o750)
    assert "old mode 100640\nnew mode 100750\n" in change.diff
    assert "old mode 100640\nnew mode 100750\n" in net_diff(store, session)
    undo(store, session)
    assert _mode(script) == 0o640


def test_a_full_database_rolls_the_edit_back(
    registry: Registry, store: Store, session: str, sctx: ToolContext, workspace: Path
) -> None:
    target = workspace / "big.txt"
    data = b"".join(b"line %06d\n" % i for i in range(20_000))
    target.write_bytes(data)
    target.chmod(0o600)
    _fill(store)
    with pytest.raises(DatabaseUnavailable, match="full"):
        registry.call("write_file", {"path": "new.txt", "content": "y" * 200_000}, sctx)
    assert not (workspace / "new.txt").exists()
    sctx.remember("big.txt", data)
    with pytest.raises(DatabaseUnavailable, match="full"):
        registry.call("edit_file", {"path": "big.txt", "old": "line 000000\n", "new": "line zero\n"}, sctx)
    assert target.read_bytes() == data and _mode(target) == 0o600
    assert store.file_changes(session) == []


class FailingRecorder:
    """A recorder whose store gives out: what it is handed must not be on disk afterwards."""

    def record(self, path: str, before: bytes | None, after: bytes | None, diff: str) -> None:
        raise AssertionError("write_changes records a tool call's changes together")

    def record_changes(self, changes: Sequence[RecordedChange]) -> None:
        raise DatabaseUnavailable("database kiri.sqlite3 is unavailable: database or disk is full")


def test_a_failed_record_of_a_multi_file_patch_leaves_every_file_as_before(
    registry: Registry, workspace: Path
) -> None:
    ctx = ToolContext(workspace, Gate(workspace, mode="full-auto"), FailingRecorder())
    (workspace / "a.sh").write_bytes(b"one\n")
    (workspace / "a.sh").chmod(0o700)
    (workspace / "gone.txt").write_bytes(b"bye\n")
    (workspace / "gone.txt").chmod(0o600)
    patch = (
        "--- a/a.sh\n+++ b/a.sh\n@@ -1 +1 @@\n-one\n+two\n"
        "--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
        "--- /dev/null\n+++ b/made.txt\n@@ -0,0 +1 @@\n+made\n"
    )
    with pytest.raises(DatabaseUnavailable):
        registry.call("apply_patch", {"patch": patch}, ctx)
    assert (workspace / "a.sh").read_bytes() == b"one\n" and _mode(workspace / "a.sh") == 0o700
    assert (workspace / "gone.txt").read_bytes() == b"bye\n" and _mode(workspace / "gone.txt") == 0o600
    assert not (workspace / "made.txt").exists()
