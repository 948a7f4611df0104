"""git_status, git_diff and git_log on real repositories, and outside one."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.tools.conftest import git, init_repo
from tools import Gate, ToolContext, ToolResult
from tools.registry import Registry

Call = Callable[..., ToolResult]


def test_outside_a_repository_says_so(call: Call) -> None:
    for name in ("git_status", "git_diff", "git_log"):
        result = call(name)
        assert result.is_error and "not inside a git repository" in result.content


def test_empty_repository(call: Call, workspace: Path) -> None:
    init_repo(workspace)
    (workspace / "new.txt").write_text("x\n")
    assert call("git_log").content == "No commits yet."
    assert "?? new.txt" in call("git_status").content
    diff = call("git_diff").content
    assert "(no changes to tracked files)" in diff and "Untracked files (not in the diff): new.txt" in diff


def test_status_diff_and_log(call: Call, workspace: Path) -> None:
    init_repo(workspace)
    (workspace / "a.txt").write_text("one\n")
    (workspace / "b.txt").write_text("bee\n")
    git(workspace, "add", ".")
    git(workspace, "commit", "-qm", "first commit")
    assert "(working tree clean)" in call("git_status").content
    (workspace / "a.txt").write_text("two\n")
    (workspace / "b.txt").write_text("BEE\n")
    git(workspace, "add", "b.txt")
    status = call("git_status").content
    assert "## main" in status and " M a.txt" in status and "M  b.txt" in status
    diff = call("git_diff").content
    assert "-one\n+two" in diff and "-bee\n+BEE" in diff  # unstaged and staged
    only_a = call("git_diff", path="a.txt").content
    assert "a.txt" in only_a and "b.txt" not in only_a
    git(workspace, "commit", "-qam", "second commit")
    log = call("git_log", n=1).content.splitlines()
    assert len(log) == 1 and log[0].endswith("Test: second commit")
    assert "n must be between" in call("git_log", n=0).content


def test_diff_path_outside_is_denied(call: Call, workspace: Path) -> None:
    init_repo(workspace)
    assert call("git_diff", path="../x").denied


def test_without_a_git_executable_the_tools_say_so(tmp_path: Path) -> None:
    # A machine without git: kiri still starts, and the git tools answer with one clear line.
    init_repo(tmp_path)  # made while git is still on PATH
    empty = tmp_path / "no-bin"
    empty.mkdir()
    script = (
        "from pathlib import Path\n"
        "from tools import Gate, ToolContext, default_registry\n"
        f"root = Path({str(tmp_path)!r})\n"
        "ctx = ToolContext(root, Gate(root, mode='full-auto'))\n"
        "print(default_registry().call('git_status', {}, ctx).content)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "GIT_PYTHON_REFRESH"} | {"PATH": str(empty)}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "git is not installed" in proc.stdout and "Traceback" not in proc.stderr


def test_in_a_linked_worktree_the_tools_work(registry: Registry, tmp_path: Path) -> None:
    (tmp_path / "main").mkdir()
    main = init_repo(tmp_path / "main")
    (main / "a.txt").write_text("one\n")
    git(main, "add", ".")
    git(main, "commit", "-qm", "first commit")
    linked = tmp_path / "linked"
    git(main, "worktree", "add", "-q", "-b", "side", str(linked))
    (linked / "a.txt").write_text("two\n")
    ctx = ToolContext(linked, Gate(linked, mode="full-auto"))
    assert " M a.txt" in registry.call("git_status", {}, ctx).content
    assert "-one\n+two" in registry.call("git_diff", {}, ctx).content
    assert "first commit" in registry.call("git_log", {}, ctx).content


def test_a_git_file_pointing_elsewhere_is_denied(call: Call, workspace: Path, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    other = init_repo(tmp_path / "other")
    (workspace / ".git").write_text(f"gitdir: {other / '.git'}\n")
    for name in ("git_status", "git_diff", "git_log"):
        result = call(name)
        assert result.denied and "refuse" in result.content
