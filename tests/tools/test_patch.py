"""apply_patch: several files and hunks, all or nothing, exact context, endings kept."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tools.conftest import Recorder
from tools import Gate, ToolContext, ToolResult
from tools.registry import Registry
from tools.textdiff import unified_diff

Call = Callable[..., ToolResult]

TWO_FILES = """\
diff --git a/a.py b/a.py
--- a/a.py
+++ b/a.py
@@ -1,3 +1,3 @@
 def a():
-    return 1
+    return 10
~
@@ -8,3 +8,4 @@
 def c():
     return 3
~
+# end
--- a/b.txt
+++ b/b.txt
@@ -1,2 +1,2 @@
-hello
+hello world
 bye
""".replace("\n~\n", "\n \n")  # "~" marks a blank context line (a lone space)

A_PY = "def a():\n    return 1\n\ndef b():\n    return 2\n\n\ndef c():\n    return 3\n\n"


@pytest.fixture
def files(workspace: Path) -> Path:
    (workspace / "a.py").write_text(A_PY)
    (workspace / "b.txt").write_text("hello\nbye\n")
    return workspace


def test_multi_file_multi_hunk(call: Call, files: Path, recorder: Recorder) -> None:
    result = call("apply_patch", patch=TWO_FILES)
    assert not result.is_error, result.content
    assert "a.py (modified), b.txt (modified)" in result.content
    assert (files / "a.py").read_text() == A_PY.replace("return 1", "return 10") + "# end\n"
    assert (files / "b.txt").read_text() == "hello world\nbye\n"
    assert [c[0] for c in recorder.changes] == ["a.py", "b.txt"]


def test_hunk_at_a_shifted_position_still_applies(call: Call, files: Path) -> None:
    (files / "a.py").write_text("# header\n# more\n" + A_PY)
    assert not call("apply_patch", patch=TWO_FILES).is_error
    assert "return 10" in (files / "a.py").read_text()


def test_failing_hunk_changes_nothing_and_is_reported(call: Call, files: Path, recorder: Recorder) -> None:
    (files / "b.txt").write_text("HELLO\nbye\n")
    result = call("apply_patch", patch=TWO_FILES)
    assert result.is_error
    assert "hunk 1 of 1 for b.txt (@@ -1,2 +1,2 @@) does not apply; no file was changed" in result.content
    assert "    hello" in result.content  # what the hunk wanted
    assert "first line is not in the file; the file near line 1 reads:\n     1  HELLO" in result.content
    assert (files / "a.py").read_text() == A_PY  # the first file's good hunks were not applied either
    assert recorder.changes == []


def test_context_must_match_exactly(call: Call, files: Path) -> None:
    patch = "--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n def a():\n-  return 1\n+  return 2\n"
    result = call("apply_patch", patch=patch)
    assert result.is_error and "Its first line is at line 1" in result.content
    assert (files / "a.py").read_text() == A_PY


def test_create_delete_and_rename(call: Call, files: Path) -> None:
    patch = (
        "--- /dev/null\n+++ b/new/dir/c.txt\n@@ -0,0 +1,2 @@\n+one\n+two\n"
        "--- a/b.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-hello\n-bye\n"
        "--- a/a.py\n+++ b/renamed.py\n@@ -1,2 +1,2 @@\n def a():\n-    return 1\n+    return 1  # moved\n"
    )
    result = call("apply_patch", patch=patch)
    assert not result.is_error, result.content
    assert (files / "new/dir/c.txt").read_text() == "one\ntwo\n"
    assert not (files / "b.txt").exists() and not (files / "a.py").exists()
    assert (files / "renamed.py").read_text().startswith("def a():\n    return 1  # moved\n")


def test_create_over_existing_and_change_of_missing_are_refused(call: Call, files: Path) -> None:
    create = "--- /dev/null\n+++ b/b.txt\n@@ -0,0 +1 @@\n+x\n"
    assert "already exists" in call("apply_patch", patch=create).content
    change = "--- a/nope.txt\n+++ b/nope.txt\n@@ -1 +1 @@\n-x\n+y\n"
    assert "does not exist" in call("apply_patch", patch=change).content


def test_delete_must_remove_everything(call: Call, files: Path) -> None:
    patch = "--- a/b.txt\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-hello\n"
    assert "holds more than the patch removes" in call("apply_patch", patch=patch).content
    assert (files / "b.txt").exists()


def test_crlf_file_patched_with_lf_patch(call: Call, workspace: Path) -> None:
    (workspace / "w.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    patch = "--- a/w.txt\n+++ b/w.txt\n@@ -1,3 +1,4 @@\n one\n-two\n+TWO\n+2.5\n three\n"
    assert not call("apply_patch", patch=patch).is_error
    assert (workspace / "w.txt").read_bytes() == b"one\r\nTWO\r\n2.5\r\nthree\r\n"


def test_no_newline_markers(call: Call, workspace: Path) -> None:
    (workspace / "n.txt").write_bytes(b"a\nb")
    patch = "--- a/n.txt\n+++ b/n.txt\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n"
    assert not call("apply_patch", patch=patch).is_error
    assert (workspace / "n.txt").read_bytes() == b"a\nc\n"


def test_unmarked_patch_keeps_a_missing_final_newline(call: Call, workspace: Path) -> None:
    (workspace / "n.txt").write_bytes(b"a\nb")
    patch = "--- a/n.txt\n+++ b/n.txt\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
    assert not call("apply_patch", patch=patch).is_error
    assert (workspace / "n.txt").read_bytes() == b"a\nc"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (b"x\ny\nz\n", b"x\nY\nz\n"),
        (b"x\r\ny\r\nz", b"x\r\ny\r\nZ"),
        (b"no final", b"no final\n"),
        (b"had final\n", b"had final"),
        ("caf\u00e9\n\u65e5\u672c\n".encode(), "caf\u00e9\n\u4e2d\u6587\n".encode()),
        (
            b"".join(b"line %d\n" % i for i in range(40)),
            b"".join(b"line %d\n" % (i * (i % 7 != 0)) for i in range(40)),
        ),
    ],
)
def test_our_own_diffs_apply_back_exactly(call: Call, workspace: Path, before: bytes, after: bytes) -> None:
    (workspace / "f.txt").write_bytes(before)
    result = call("apply_patch", patch=unified_diff("f.txt", before, after))
    assert not result.is_error, result.content
    assert (workspace / "f.txt").read_bytes() == after


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ("just some text\n", "no file changes found"),
        ("--- a/b.txt\n+++ b/b.txt\n@@ -1,3 +1,3 @@\n-hello\n+x\n", "could not parse the patch"),
    ],
)
def test_unparsable_patches(call: Call, files: Path, patch: str, message: str) -> None:
    result = call("apply_patch", patch=patch)
    assert result.is_error and message in result.content


class DiskFullGate(Gate):
    """Fails the second file write, as a full disk would."""

    writes = 0

    def write_bytes(self, path: str | os.PathLike[str], data: bytes, mode: int | None = None) -> None:
        self.writes += 1
        if self.writes == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        super().write_bytes(path, data, mode)


def test_a_failed_write_rolls_back_the_files_already_written(registry: Registry, files: Path) -> None:
    recorder = Recorder()
    ctx = ToolContext(files, DiskFullGate(files, mode="full-auto"), recorder)
    result = registry.call("apply_patch", {"patch": TWO_FILES}, ctx)
    assert result.is_error and "No space left on device" in result.content
    assert (files / "a.py").read_text() == A_PY and (files / "b.txt").read_text() == "hello\nbye\n"
    assert recorder.changes == []
