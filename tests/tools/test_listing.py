"""list_dir and glob: sorted, capped, .git and .gitignore respected."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tools.conftest import init_repo
from tools import ToolResult
from tools.ignore import compile_pattern, is_ignored

Call = Callable[..., ToolResult]


@pytest.fixture
def tree(workspace: Path) -> Path:
    init_repo(workspace)
    files = {
        ".gitignore": "build/\n*.log\n!keep.log\n/top-only.txt\n",
        "README.md": "# r\n",
        "top-only.txt": "x",
        "app.log": "x",
        "keep.log": "x",
        "build/out.o": "x",
        "src/main.py": "x",
        "src/top-only.txt": "x",
        "src/pkg/.gitignore": "generated_*.py\n",
        "src/pkg/mod.py": "x",
        "src/pkg/generated_a.py": "x",
        "src/pkg/deep/more.py": "x",
        ".github/ci.yml": "x",
    }
    for rel, text in files.items():
        (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
        (workspace / rel).write_text(text)
    return workspace


def test_list_dir_tree(call: Call, tree: Path) -> None:
    out = call("list_dir", depth=3).content
    assert out.splitlines() == [
        "./",
        "  .github/",
        "    ci.yml",
        "  .gitignore",
        "  README.md",
        "  keep.log",
        "  src/",
        "    main.py",
        "    pkg/",
        "      .gitignore",
        "      deep/",
        "      mod.py",
        "    top-only.txt",
    ]


def test_list_dir_subdirectory_depth_one(call: Call, tree: Path) -> None:
    assert call("list_dir", path="src/pkg", depth=1).content.splitlines() == [
        "src/pkg/",
        "  .gitignore",
        "  deep/",
        "  mod.py",
    ]


def test_list_dir_caps_and_counts(call: Call, workspace: Path) -> None:
    for i in range(520):
        (workspace / f"f{i:03}.txt").write_text("")
    out = call("list_dir").content
    assert "f499.txt" in out and "f500.txt" not in out
    assert "[20 more entries not shown" in out


def test_list_dir_errors(call: Call, tree: Path) -> None:
    assert "not a directory" in call("list_dir", path="README.md").content
    assert "does not exist" in call("list_dir", path="nope").content
    assert "depth must be" in call("list_dir", depth=0).content


def test_list_dir_shows_symlinks_without_following(call: Call, workspace: Path, outside: Path) -> None:
    os.symlink(outside, workspace / "out")
    assert "out -> " in call("list_dir").content
    assert "canary" not in call("list_dir", depth=3).content


def test_glob_recursive_sorted_and_ignoring(call: Call, tree: Path) -> None:
    assert call("glob", pattern="**/*.py").content.splitlines() == [
        "src/main.py",
        "src/pkg/deep/more.py",
        "src/pkg/mod.py",
    ]
    assert call("glob", pattern="src/*").content.splitlines() == [
        "src/main.py",
        "src/pkg/",
        "src/top-only.txt",
    ]
    assert call("glob", pattern="*.log").content == "keep.log"


def test_glob_hint_when_nothing_matches_at_top(call: Call, tree: Path) -> None:
    out = call("glob", pattern="*.py").content
    assert "No files match" in out and "**/*.py" in out


def test_glob_cap(call: Call, workspace: Path) -> None:
    for i in range(505):
        (workspace / f"f{i:03}.txt").write_text("")
    assert "[5 more matches not shown" in call("glob", pattern="*.txt").content


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "ignored"),
    [
        ("*.log", "a/b/x.log", False, True),
        ("/top", "top", False, True),
        ("/top", "a/top", False, False),
        ("build/", "build", True, True),
        ("build/", "build", False, False),
        ("a/**/z", "a/z", False, True),
        ("a/**/z", "a/b/c/z", False, True),
        ("**/foo", "x/y/foo", True, True),
        ("doc/*.txt", "doc/a.txt", False, True),
        ("doc/*.txt", "doc/x/a.txt", False, False),
        ("f?o[0-9]", "fxo7", False, True),
        ("f[!a]o", "fao", False, False),
        ("\\#hash", "#hash", False, True),
        ("trailing\\ ", "trailing ", False, True),
    ],
)
def test_gitignore_patterns(pattern: str, path: str, is_dir: bool, ignored: bool) -> None:
    rule = compile_pattern(pattern)
    assert rule is not None
    assert is_ignored([rule], path, is_dir) is ignored


def test_gitignore_last_rule_wins_and_comments() -> None:
    rules = [r for r in (compile_pattern(p) for p in ["# c", "", "*.log", "!keep.log"]) if r]
    assert len(rules) == 2
    assert is_ignored(rules, "x.log", False) and not is_ignored(rules, "keep.log", False)


def test_odd_file_names_are_quoted_so_they_cannot_fake_a_line(call: Call, workspace: Path) -> None:
    init_repo(workspace)
    (workspace / "notes\nREADME.md").write_text("x")
    (workspace / "esc\x1b[2K.txt").write_text("x")
    (workspace / "plain.txt").write_text("x")
    for result in (call("list_dir", path=".", depth=1), call("glob", pattern="*")):
        lines = result.content.splitlines()
        assert '"notes\\nREADME.md"' in result.content and '"esc\\033[2K.txt"' in result.content
        assert all(line.strip() != "README.md" for line in lines), lines
        assert any(line.strip() == "plain.txt" for line in lines)
        assert "\x1b" not in result.content
