"""Hostile cases for undo and the change record: modes survive a round trip, and no edit reaches the disk
without a record (issue 12 item 5, issue 20 item 3).

Each case runs the real ``agent`` with a scripted model and asserts what must not be lost: a file's mode,
its bytes, or the rule that every change on disk has a record.
"""

from __future__ import annotations

import os
import resource
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from tests.fakes.openai_server import call, text_reply, tool_reply
from tests.hostile.conftest import Hostile, Run


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _script(hostile: Hostile, *calls: tuple[str, str, str]) -> None:
    hostile.server.add(*(tool_reply(c) for c in calls), text_reply("done"))


def _run(hostile: Hostile, *calls: tuple[str, str, str]) -> Run:
    _script(hostile, *calls)
    return hostile.agent("run", "--yes", "do the task")


def _undo(hostile: Hostile) -> Run:
    result = hostile.agent("undo")
    assert result.code == 0 and result.clean, result.err
    return result


def _delete_patch(name: str, lines: list[str], mode: str = "") -> str:
    header = f"diff --git a/{name} b/{name}\ndeleted file mode {mode}\n" if mode else ""
    body = "".join(f"-{line}\n" for line in lines)
    return f"{header}--- a/{name}\n+++ /dev/null\n@@ -1,{len(lines)} +0,0 @@\n{body}"


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def test_undo_of_a_deleted_script_restores_it_executable(hostile: Hostile) -> None:
    script = hostile.project / "build.sh"
    script.write_bytes(b"#!/bin/sh\necho build\n")
    script.chmod(0o755)
    result = _run(
        hostile, call("apply_patch", {"patch": _delete_patch("build.sh", ["#!/bin/sh", "echo build"])})
    )
    assert result.code == 0 and result.clean, result.err
    assert not script.exists()
    _undo(hostile)
    assert script.read_bytes() == b"#!/bin/sh\necho build\n"
    assert _mode(script) == 0o755


def test_undo_of_a_deleted_private_file_keeps_it_private(hostile: Hostile) -> None:
    secret = hostile.project / "token.txt"
    secret.write_bytes(b"private\n")
    secret.chmod(0o600)
    result = _run(hostile, call("apply_patch", {"patch": _delete_patch("token.txt", ["private"])}))
    assert result.code == 0 and result.clean, result.err
    assert not secret.exists()
    _undo(hostile)
    assert secret.read_bytes() == b"private\n"
    assert _mode(secret) == 0o600, "a private file came back readable by others"


def test_edit_of_a_private_file_and_its_undo_keep_it_private(hostile: Hostile) -> None:
    secret = hostile.project / "key.cfg"
    secret.write_bytes(b"key = old\n")
    secret.chmod(0o600)
    result = _run(
        hostile,
        call("read_file", {"path": "key.cfg"}),
        call("edit_file", {"path": "key.cfg", "old": "old", "new": "new"}),
    )
    assert result.code == 0 and result.clean, result.err
    assert secret.read_bytes() == b"key = new\n"
    assert _mode(secret) == 0o600
    secret.chmod(0o644)  # the user loosened it meanwhile: undo puts back what was recorded, not what is there
    _undo(hostile)
    assert secret.read_bytes() == b"key = old\n"
    assert _mode(secret) == 0o600


def test_undo_of_a_created_file_deletes_it(hostile: Hostile) -> None:
    result = _run(hostile, call("write_file", {"path": "notes/new.txt", "content": "fresh\n"}))
    assert result.code == 0 and result.clean, result.err
    created = hostile.project / "notes" / "new.txt"
    assert created.read_bytes() == b"fresh\n"
    assert _mode(created) == 0o666 & ~_umask()
    _undo(hostile)
    assert not created.exists()


def test_rename_of_a_script_keeps_it_executable_and_undo_restores_the_old_name(hostile: Hostile) -> None:
    old = hostile.project / "run.sh"
    old.write_bytes(b"#!/bin/sh\necho run\n")
    old.chmod(0o750)
    patch = (
        "diff --git a/run.sh b/start.sh\n"
        "--- a/run.sh\n+++ b/start.sh\n@@ -1,2 +1,2 @@\n #!/bin/sh\n-echo run\n+echo start\n"
    )
    result = _run(hostile, call("apply_patch", {"patch": patch}))
    assert result.code == 0 and result.clean, result.err
    new = hostile.project / "start.sh"
    assert not old.exists()
    assert new.read_bytes() == b"#!/bin/sh\necho start\n"
    assert _mode(new) == 0o750
    _undo(hostile)
    assert not new.exists()
    assert old.read_bytes() == b"#!/bin/sh\necho run\n"
    assert _mode(old) == 0o750


def test_patch_with_new_file_mode_100755_creates_an_executable(hostile: Hostile) -> None:
    patch = (
        "diff --git a/tool.sh b/tool.sh\nnew file mode 100755\n"
        "--- /dev/null\n+++ b/tool.sh\n@@ -0,0 +1,2 @@\n+#!/bin/sh\n+echo tool\n"
    )
    result = _run(hostile, call("apply_patch", {"patch": patch}))
    assert result.code == 0 and result.clean, result.err
    made = hostile.project / "tool.sh"
    assert made.read_bytes() == b"#!/bin/sh\necho tool\n"
    assert _mode(made) == 0o777 & ~_umask(), "new file mode 100755 was ignored"


def test_a_mode_only_patch_is_applied_and_undone(hostile: Hostile) -> None:
    script = hostile.project / "app.py"
    script.chmod(0o644)
    patch = "diff --git a/app.py b/app.py\nold mode 100644\nnew mode 100755\n"
    result = _run(hostile, call("apply_patch", {"patch": patch}))
    assert result.code == 0 and result.clean, result.err
    assert _mode(script) == 0o755
    _undo(hostile)
    assert _mode(script) == 0o644
    assert script.read_bytes() == b"print('hello')\n"


# ----- disk full while recording -----------------------------------------------------------------------

BIG = 600_000  # bytes of the file edited: its before and after snapshots do not fit under the limit below
LIMIT = 1_000_000  # RLIMIT_FSIZE for the agent: the workspace write fits, the database's WAL does not


def _agent_with_file_limit(hostile: Hostile, *args: str) -> Run:
    """Run the agent with a file-size limit: SQLite's write fails for real ("disk I/O error"/"disk full")."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))

    proc = subprocess.run(
        [sys.executable, "-m", "agent", *args],
        cwd=hostile.project,
        env=hostile.env(),
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _big_file(hostile: Hostile, name: str) -> tuple[Path, bytes]:
    path = hostile.project / name
    data = b"".join(b"line %06d of a large file\n" % i for i in range(BIG // 26))
    path.write_bytes(data)
    path.chmod(0o640)
    return path, data


def _first_line_patch(name: str, old: str, new: str) -> str:
    return f"--- a/{name}\n+++ b/{name}\n@@ -1 +1 @@\n-{old}\n+{new}\n"


def _recorded_changes(hostile: Hostile) -> int:
    with sqlite3.connect(hostile.db) as db:
        return db.execute("select count(*) from file_changes").fetchone()[0]


def _assert_failed_cleanly(result: Run) -> None:
    assert result.code != 0
    assert result.clean, result.err
    assert "database" in result.err and "was not made" in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err


def test_disk_full_while_recording_leaves_the_file_untouched(hostile: Hostile) -> None:
    big, data = _big_file(hostile, "big.txt")
    patch = _first_line_patch("big.txt", "line 000000 of a large file", "line zero")
    _script(hostile, call("apply_patch", {"patch": patch}))
    result = _agent_with_file_limit(hostile, "run", "--yes", "edit big.txt")
    _assert_failed_cleanly(result)
    assert big.read_bytes() == data, "the edit reached the disk without a record"
    assert _mode(big) == 0o640
    assert _recorded_changes(hostile) == 0


def test_disk_full_on_the_second_file_of_a_patch_leaves_both_as_before(hostile: Hostile) -> None:
    small = hostile.project / "app.py"
    small.chmod(0o600)
    big, data = _big_file(hostile, "big.txt")
    patch = _first_line_patch("app.py", "print('hello')", "print('bye')") + _first_line_patch(
        "big.txt", "line 000000 of a large file", "line zero"
    )
    _script(hostile, call("apply_patch", {"patch": patch}))
    result = _agent_with_file_limit(hostile, "run", "--yes", "edit both")
    _assert_failed_cleanly(result)
    assert small.read_bytes() == b"print('hello')\n"
    assert _mode(small) == 0o600
    assert big.read_bytes() == data
    assert _recorded_changes(hostile) == 0
    diff = hostile.agent("diff")
    assert diff.clean and "print('bye')" not in diff.out


def test_agent_diff_shows_a_mode_change(hostile: Hostile) -> None:
    script = hostile.project / "app.py"
    script.chmod(0o644)
    patch = "diff --git a/app.py b/app.py\nold mode 100644\nnew mode 100755\n"
    result = _run(hostile, call("apply_patch", {"patch": patch}))
    assert result.code == 0 and result.clean, result.err
    diff = hostile.agent("diff")
    assert diff.code == 0 and diff.clean, diff.err
    assert "old mode 100644\nnew mode 100755\n" in diff.out, "a change of mode went unrecorded"
