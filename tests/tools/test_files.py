"""read_file, write_file and edit_file on real files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tools.conftest import Recorder
from tools import ToolResult

Call = Callable[..., ToolResult]


def test_read_numbers_lines_and_pages(call: Call, workspace: Path) -> None:
    (workspace / "a.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    first = call("read_file", path="a.txt", limit=3).content
    assert first.splitlines()[:3] == ["     1\tline 1", "     2\tline 2", "     3\tline 3"]
    assert "showing lines 1-3 of 10; call read_file with offset=4" in first
    rest = call("read_file", path="a.txt", offset=9).content
    assert rest.splitlines() == ["     9\tline 9", "    10\tline 10"]


def test_read_pages_by_size_when_lines_are_many(call: Call, workspace: Path) -> None:
    (workspace / "big.txt").write_text("".join(f"{'x' * 100} {i}\n" for i in range(2000)))
    content = call("read_file", path="big.txt").content
    assert len(content) < 26_000
    assert "call read_file with offset=" in content


def test_read_past_the_end_and_missing_and_directories(call: Call, workspace: Path) -> None:
    (workspace / "a.txt").write_text("one\n")
    (workspace / "d").mkdir()
    assert "past the end" in call("read_file", path="a.txt", offset=5).content
    assert "no such file" in call("read_file", path="nope.txt").content
    assert "is a directory; use list_dir" in call("read_file", path="d").content


def test_read_binary_and_bad_utf8_and_long_lines(call: Call, workspace: Path) -> None:
    (workspace / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    (workspace / "latin.txt").write_bytes(b"caf\xe9\nok\n")
    (workspace / "long.txt").write_text("y" * 5000 + "\n")
    assert "binary file (11 bytes)" in call("read_file", path="img.png").content
    latin = call("read_file", path="latin.txt").content
    assert "not valid UTF-8 from byte 3" in latin and "caf\ufffd" in latin and "ok" in latin
    assert "[line cut, 5000 characters]" in call("read_file", path="long.txt").content


def test_read_shows_crlf_without_carriage_returns(call: Call, workspace: Path) -> None:
    (workspace / "w.txt").write_bytes("é\r\nb\r\n".encode())
    assert call("read_file", path="w.txt").content == "     1\té\n     2\tb\n"


def test_write_creates_with_parents_and_records(call: Call, workspace: Path, recorder: Recorder) -> None:
    result = call("write_file", path="src/pkg/new.py", content="print('hi')\n")
    assert not result.is_error and "Created src/pkg/new.py" in result.content
    assert (workspace / "src/pkg/new.py").read_bytes() == b"print('hi')\n"
    ((path, before, after, diff),) = recorder.changes
    assert (path, before, after) == ("src/pkg/new.py", None, b"print('hi')\n")
    assert diff.startswith("--- /dev/null\n+++ b/src/pkg/new.py\n")


def test_overwrite_needs_a_read_first(call: Call, workspace: Path) -> None:
    (workspace / "a.txt").write_text("old\n")
    refused = call("write_file", path="a.txt", content="new\n")
    assert refused.is_error and "read it with read_file first" in refused.content
    assert (workspace / "a.txt").read_text() == "old\n"
    call("read_file", path="a.txt")
    done = call("write_file", path="a.txt", content="new\n")
    assert not done.is_error and "-old\n+new" in done.content
    assert (workspace / "a.txt").read_text() == "new\n"


def test_overwrite_refused_when_the_file_changed_since_read(call: Call, workspace: Path) -> None:
    (workspace / "a.txt").write_text("v1\n")
    call("read_file", path="a.txt")
    (workspace / "a.txt").write_text("v2 by the user\n")
    result = call("write_file", path="a.txt", content="agent\n")
    assert result.is_error and "changed since you last read it" in result.content
    assert (workspace / "a.txt").read_text() == "v2 by the user\n"


def test_own_writes_count_as_known_content(call: Call, workspace: Path) -> None:
    call("write_file", path="a.txt", content="one\n")
    assert not call("write_file", path="a.txt", content="two\n").is_error


def test_overwrite_keeps_crlf_and_mode(call: Call, workspace: Path) -> None:
    f = workspace / "run.sh"
    f.write_bytes(b"#!/bin/sh\r\necho a\r\n")
    f.chmod(0o755)
    call("read_file", path="run.sh")
    call("write_file", path="run.sh", content="#!/bin/sh\necho b\n")
    assert f.read_bytes() == b"#!/bin/sh\r\necho b\r\n"
    assert f.stat().st_mode & 0o777 == 0o755


def test_write_onto_a_directory_is_an_error(call: Call, workspace: Path) -> None:
    (workspace / "d").mkdir()
    assert "is a directory" in call("write_file", path="d", content="x").content


def test_edit_replaces_a_unique_match(call: Call, workspace: Path, recorder: Recorder) -> None:
    (workspace / "a.py").write_text("def f():\n    return 1\n")
    result = call("edit_file", path="a.py", old="return 1", new="return 2")
    assert "Edited a.py (1 replacement)" in result.content and "+    return 2" in result.content
    assert (workspace / "a.py").read_text() == "def f():\n    return 2\n"
    assert recorder.changes[0][1:3] == (b"def f():\n    return 1\n", b"def f():\n    return 2\n")


def test_edit_refuses_absent_and_ambiguous_text(call: Call, workspace: Path) -> None:
    (workspace / "a.py").write_text("x = 1\ny = 1\nx = 1\n")
    missing = call("edit_file", path="a.py", old="z = 1", new="z = 2")
    assert missing.is_error and "not found" in missing.content
    many = call("edit_file", path="a.py", old="x = 1", new="x = 2")
    assert many.is_error and "appears 2 times" in many.content and "lines 1, 3" in many.content
    assert (workspace / "a.py").read_text() == "x = 1\ny = 1\nx = 1\n"
    assert (
        "2 replacements" in call("edit_file", path="a.py", old="x = 1", new="x = 2", replace_all=True).content
    )
    assert (workspace / "a.py").read_text() == "x = 2\ny = 1\nx = 2\n"


def test_edit_points_at_a_whitespace_near_miss(call: Call, workspace: Path) -> None:
    (workspace / "a.py").write_text("class A:\n    def f(self):\n        pass\n")
    result = call("edit_file", path="a.py", old="def f(self):\n    pass", new="def f(self):\n    return 1")
    assert "except for whitespace/indentation starts at line 2" in result.content


def test_edit_keeps_crlf_and_missing_final_newline(call: Call, workspace: Path) -> None:
    f = workspace / "w.txt"
    f.write_bytes(b"alpha\r\nbeta\r\ngamma")
    call("edit_file", path="w.txt", old="beta\ngamma", new="BETA\nGAMMA\n")
    assert f.read_bytes() == b"alpha\r\nBETA\r\nGAMMA"


def test_edit_keeps_the_final_newline(call: Call, workspace: Path) -> None:
    f = workspace / "a.txt"
    f.write_text("a\nb\n")
    call("edit_file", path="a.txt", old="b\n", new="c")
    assert f.read_text() == "a\nc\n"


def test_edit_utf8_text(call: Call, workspace: Path) -> None:
    f = workspace / "u.txt"
    f.write_text("naïve café\n日本語\n", encoding="utf-8")
    call("edit_file", path="u.txt", old="日本語", new="中文 ✓")
    assert f.read_text(encoding="utf-8") == "naïve café\n中文 ✓\n"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [("", "x", "must not be empty"), ("same", "same", "are the same")],
)
def test_edit_refuses_pointless_calls(call: Call, workspace: Path, old: str, new: str, message: str) -> None:
    (workspace / "a.txt").write_text("same\n")
    assert message in call("edit_file", path="a.txt", old=old, new=new).content


def test_edit_refuses_non_utf8(call: Call, workspace: Path) -> None:
    (workspace / "l.txt").write_bytes(b"caf\xe9\n")
    assert "not UTF-8 text" in call("edit_file", path="l.txt", old="caf", new="bar").content
