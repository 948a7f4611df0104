"""Recording changes in the real memory Store, undo step by step to exact bytes, conflicts, net diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory import Store
from tests.tools.conftest import init_repo
from tools import Gate, ToolContext, ToolError, UndoConflict
from tools.changes import StoreRecorder, net_diff, undo
from tools.registry import Registry

CRLF = b"first\r\nsecond\r\nthird\r\n"
NO_EOL = b"alpha\nbeta"
UTF8 = "gr\u00fc\u00df dich\n\u65e5\u672c\u8a9e\n\u00e9t\u00e9 \u2713\n".encode()


def _run(registry: Registry, ctx: ToolContext, name: str, **args: object) -> None:
    result = registry.call(name, args, ctx)
    assert not result.is_error, result.content


def _state(ws: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(ws)): p.read_bytes()
        for p in sorted(ws.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }


@pytest.mark.parametrize("in_git", [False, True], ids=["plain-dir", "git-repo"])
def test_undo_step_by_step_restores_exact_bytes(
    registry: Registry, store: Store, session: str, sctx: ToolContext, workspace: Path, in_git: bool
) -> None:
    if in_git:
        init_repo(workspace)
    (workspace / "crlf.txt").write_bytes(CRLF)
    (workspace / "noeol.txt").write_bytes(NO_EOL)
    (workspace / "utf8.txt").write_bytes(UTF8)
    states = [_state(workspace)]
    for name in ("crlf.txt", "noeol.txt", "utf8.txt"):
        _run(registry, sctx, "read_file", path=name)
    steps = [
        ("edit_file", {"path": "crlf.txt", "old": "second", "new": "2nd\nand a half"}),
        ("edit_file", {"path": "noeol.txt", "old": "beta", "new": "BETA"}),
        ("write_file", {"path": "utf8.txt", "content": "\u00fcber alles\n\u2713\n"}),
        ("write_file", {"path": "new/created.txt", "content": "brand new"}),
        (
            "apply_patch",
            {
                "patch": "--- a/noeol.txt\n+++ b/noeol.txt\n@@ -1,2 +1,3 @@\n alpha\n+inserted\n BETA\n"
                "--- a/crlf.txt\n+++ b/crlf.txt\n@@ -1,2 +1,2 @@\n-first\n+FIRST\n 2nd\n"
            },
        ),
        (
            "apply_patch",
            {"patch": "--- a/utf8.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-\u00fcber alles\n-\u2713\n"},
        ),
    ]
    for name, args in steps:
        _run(registry, sctx, name, **args)
        states.append(_state(workspace))
    assert (workspace / "crlf.txt").read_bytes() == b"FIRST\r\n2nd\r\nand a half\r\nthird\r\n"
    assert (workspace / "noeol.txt").read_bytes() == b"alpha\ninserted\nBETA"
    assert not (workspace / "utf8.txt").exists()
    # the loop sets a tool run per call; here each file change is one step, except the 2-file patch
    changes = store.file_changes(session)
    assert [c.path for c in changes] == [
        "crlf.txt", "noeol.txt", "utf8.txt", "new/created.txt", "noeol.txt", "crlf.txt", "utf8.txt"
    ]  # fmt: skip
    restored = undo(store, session, workspace=workspace)  # the deletion
    assert restored == ["utf8.txt"] and _state(workspace) == states[5]
    assert undo(store, session, workspace=workspace) == ["crlf.txt"]  # second half of the patch
    assert undo(store, session, workspace=workspace) == ["noeol.txt"]
    assert _state(workspace) == states[4]
    assert undo(store, session, steps=2, workspace=workspace) == ["new/created.txt", "utf8.txt"]
    assert _state(workspace) == states[2]
    assert not (workspace / "new/created.txt").exists()
    assert undo(store, session, steps=5) == ["noeol.txt", "crlf.txt"]  # workspace from the session record
    assert _state(workspace) == states[0]
    assert store.file_changes(session) == []
    with pytest.raises(ToolError, match="nothing to undo"):
        undo(store, session, workspace=workspace)


def test_a_multi_file_tool_run_is_one_step(
    store: Store, session: str, workspace: Path, registry: Registry
) -> None:
    recorder = StoreRecorder(store, session)
    ctx = ToolContext(workspace, Gate(workspace, mode="full-auto"), recorder)
    patch = "--- /dev/null\n+++ b/a.txt\n@@ -0,0 +1 @@\n+a\n--- /dev/null\n+++ b/b.txt\n@@ -0,0 +1 @@\n+b\n"
    _run(registry, ctx, "apply_patch", patch=patch)
    # As the loop does: changes are stored as they happen, then linked to the run stored after the tool returns.
    ids = recorder.take_change_ids()
    assert len(ids) == 2 and recorder.take_change_ids() == []
    store.record_tool_run(
        session, tool_call_id="call_1", name="apply_patch", arguments="{}", result="ok", duration_s=0.1,
        file_change_ids=ids,
    )  # fmt: skip
    assert sorted(undo(store, session, workspace=workspace)) == ["a.txt", "b.txt"]
    assert _state(workspace) == {}


def test_undo_refuses_when_files_changed_outside(
    registry: Registry, store: Store, session: str, sctx: ToolContext, workspace: Path
) -> None:
    _run(registry, sctx, "write_file", path="a.txt", content="agent\n")
    _run(registry, sctx, "write_file", path="b.txt", content="agent\n")
    (workspace / "a.txt").write_text("user edit\n")
    (workspace / "b.txt").unlink()
    with pytest.raises(UndoConflict) as info:
        undo(store, session, steps=2, workspace=workspace)
    assert info.value.paths == ["a.txt", "b.txt"]
    assert "a.txt, b.txt" in str(info.value) and "--force" in str(info.value)
    assert (workspace / "a.txt").read_text() == "user edit\n"  # nothing was touched
    assert len(store.file_changes(session)) == 2
    assert undo(store, session, steps=2, force=True, workspace=workspace) == ["b.txt", "a.txt"]
    assert _state(workspace) == {}


def test_undo_argument_errors(store: Store, session: str, workspace: Path) -> None:
    with pytest.raises(ToolError, match="at least 1"):
        undo(store, session, steps=0, workspace=workspace)
    store.record_file_change(session, path="../escape.txt", before=None, after=b"x", diff="")
    with pytest.raises(ToolError, match="outside the workspace"):
        undo(store, session, workspace=workspace)


def test_net_diff_per_file_from_first_before_to_last_after(
    registry: Registry, store: Store, session: str, sctx: ToolContext, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("one\ntwo\n")
    _run(registry, sctx, "edit_file", path="a.txt", old="one", new="ONE")
    _run(registry, sctx, "edit_file", path="a.txt", old="two", new="TWO")
    _run(registry, sctx, "write_file", path="b.txt", content="new\n")
    _run(registry, sctx, "write_file", path="c.txt", content="temp\n")
    _run(registry, sctx, "apply_patch", patch="--- a/c.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-temp\n")
    assert net_diff(store, session) == (
        "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n-one\n-two\n+ONE\n+TWO\n"
        "--- /dev/null\n+++ b/b.txt\n@@ -0,0 +1 @@\n+new\n"
    )  # c.txt came and went: no net change
    assert undo(store, session, steps=4, workspace=workspace) == ["c.txt", "b.txt", "a.txt"]
    assert net_diff(store, session) == "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n-one\n+ONE\n two\n"
