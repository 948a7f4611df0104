"""The size policy: every file tool refuses a file over MAX_FILE_BYTES before reading it, and refuses special
files; search refuses a special file named explicitly and skips large ones."""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tools.conftest import Recorder
from tools import ToolResult
from tools.errors import ToolError
from tools.gate import Gate
from tools.limits import MAX_FILE_BYTES
from tools.search import grep

Call = Callable[..., ToolResult]
HUGE = 4 * MAX_FILE_BYTES  # sparse: no disk, but reading it whole would take 80 MiB


@pytest.fixture
def huge(workspace: Path) -> Path:
    path = workspace / "huge.txt"
    with path.open("wb") as f:
        f.truncate(HUGE)
    return path


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def test_the_gate_refuses_a_whole_read_over_the_limit_before_reading(workspace: Path) -> None:
    (workspace / "f.txt").write_bytes(b"x" * 11)
    gate = Gate(workspace, mode="full-auto")
    with pytest.raises(ToolError, match=r"f.txt is 11 bytes, too large for the file tools \(limit 10 bytes"):
        gate.read_bytes("f.txt", limit=10)
    assert gate.read_bytes("f.txt", limit=11) == b"x" * 11
    assert gate.read_bytes("f.txt", max_bytes=3, limit=1) == b"xxx"  # a bounded read needs no limit
    assert gate.read_bytes("f.txt", limit=None) == b"x" * 11


@pytest.mark.parametrize(
    "name, args",
    [
        ("read_file", {"path": "huge.txt"}),
        ("edit_file", {"path": "huge.txt", "old": "a", "new": "b"}),
        ("write_file", {"path": "huge.txt", "content": "small\n"}),
        ("apply_patch", {"patch": "--- a/huge.txt\n+++ b/huge.txt\n@@ -1 +1 @@\n-a\n+b\n"}),
    ],
)
def test_every_file_tool_refuses_a_huge_file_without_reading_it(
    call: Call, huge: Path, recorder: Recorder, name: str, args: dict
) -> None:
    before = _rss()
    result = call(name, **args)
    assert result.is_error
    assert f"huge.txt is {HUGE} bytes, too large for the file tools" in result.content
    assert "run_shell" in result.content
    assert _rss() - before < MAX_FILE_BYTES  # nothing near the file's size was read
    assert huge.stat().st_size == HUGE and not recorder.changes


def test_a_write_or_edit_may_not_produce_a_file_over_the_limit(call: Call, workspace: Path) -> None:
    (workspace / "a.txt").write_text("a\n" * 1000)
    result = call(
        "edit_file", path="a.txt", old="a", new="a" * (MAX_FILE_BYTES // 1000 + 1), replace_all=True
    )
    assert result.is_error and "too large for the file tools" in result.content
    assert (workspace / "a.txt").read_text() == "a\n" * 1000


def test_file_tools_refuse_a_fifo_without_blocking(call: Call, workspace: Path) -> None:
    os.mkfifo(workspace / "pipe")
    for name, args in (("read_file", {"path": "pipe"}), ("write_file", {"path": "pipe", "content": "x"})):
        result = call(name, **args)
        assert result.is_error and "not a regular file" in result.content


def test_search_refuses_a_special_file_named_explicitly(call: Call, workspace: Path) -> None:
    os.mkfifo(workspace / "pipe")
    result = call("search", pattern="x", path="pipe")
    assert result.is_error and "pipe is not a regular file or directory" in result.content


@pytest.mark.parametrize("engine", ["rg", "python"])
def test_search_skips_special_and_huge_files_in_a_walk(workspace: Path, huge: Path, engine: str) -> None:
    from tools.search import find_rg

    if engine == "rg" and find_rg() is None:
        pytest.skip("ripgrep not installed")
    os.mkfifo(workspace / "pipe")
    with huge.open("r+b") as f:
        f.write(b"needle\n")  # text at the start: without the size cap the whole file would be scanned
    (workspace / "small.txt").write_text("needle\n")
    outcome = grep(workspace, "needle", engine=engine)
    assert [hits.path for hits in outcome.files] == ["small.txt"]


def test_read_regular_prefix_never_blocks_and_reads_only_a_prefix(workspace: Path, huge: Path) -> None:
    from tools.limits import read_regular_prefix

    os.mkfifo(workspace / "pipe")
    assert read_regular_prefix(workspace / "pipe", 10) is None  # returns at once: no writer is waited for
    assert read_regular_prefix(workspace, 10) is None
    assert read_regular_prefix(huge, 10) == b"\0" * 10
    with pytest.raises(FileNotFoundError):
        read_regular_prefix(workspace / "absent", 10)
