"""search: ripgrep and the pure-Python fallback find the same things, formatted the same way."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tools.conftest import init_repo
from tools import ToolContext, ToolResult
from tools import search as search_mod
from tools.search import find_rg, format_outcome, grep

Call = Callable[..., ToolResult]

pytestmark = pytest.mark.skipif(find_rg() is None, reason="the ripgrep package is a dependency")


@pytest.fixture
def tree(workspace: Path, outside: Path) -> Path:
    init_repo(workspace)
    files = {
        ".gitignore": "build/\n*.log\n!keep.log\nsecret.py\n",
        "README.md": "TODO: write docs\nnothing here\n",
        "app.log": "TODO in a log\n",
        "keep.log": "TODO kept log\n",
        "secret.py": "TODO secret\n",
        "build/gen.py": "TODO generated\n",
        "src/main.py": "import os\n\ndef main():\n    # TODO: args\n    return 0\n\n\ndef helper():\n    pass  # todo\n",
        "src/crlf.py": "def crlf():\r\n    x = 1  # TODO\r\n",
        "src/pkg/.gitignore": "*.tmp\n!important.tmp\n",
        "src/pkg/a.tmp": "TODO tmp\n",
        "src/pkg/important.tmp": "TODO important\n",
        "src/pkg/uni.py": "café = 'TODO ünïcode'\n",
        ".hidden/conf.py": "TODO hidden\n",
    }
    for rel, text in files.items():
        (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
        (workspace / rel).write_bytes(text.encode())
    (workspace / "blob.bin").write_bytes(b"TODO\0binary\n")
    (workspace / "latin.txt").write_bytes(b"TODO caf\xe9\n")
    os.symlink(outside / "canary.txt", workspace / "link-out.txt")
    os.symlink(workspace / "README.md", workspace / "link-in.md")
    return workspace


def _rows(workspace: Path, engine: str, pattern: str, rel: str = ".", **kw) -> list:
    outcome = grep(workspace, pattern, rel, engine=engine, max_rows=10**6, **kw)
    return [(f.path, f.rows) for f in outcome.files], outcome.total_matches, outcome.total_files


@pytest.mark.parametrize(
    ("pattern", "rel", "kw"),
    [
        ("TODO", ".", {}),
        ("todo", ".", {"ignore_case": True}),
        ("TODO", ".", {"context": 1}),
        ("def \\w+\\(", ".", {"context": 2}),
        ("TODO", "src", {}),
        ("TODO", "src/pkg", {}),
        ("TODO", "src/main.py", {}),
        ("TODO", ".", {"glob": "*.py"}),
        ("TODO", ".", {"glob": "!*.py"}),
        ("TODO", ".", {"glob": "src/**"}),
        ("1  # TODO$", ".", {}),
        ("^$", "src", {}),
        ("ünï", ".", {}),
        ("no such text anywhere", ".", {}),
    ],
)
def test_ripgrep_and_python_agree(tree: Path, pattern: str, rel: str, kw: dict) -> None:
    assert _rows(tree, "rg", pattern, rel, **kw) == _rows(tree, "python", pattern, rel, **kw)


def test_what_is_searched(tree: Path) -> None:
    (paths, _, _) = _rows(tree, "python", "TODO")[0], None, None
    found = [p for p, _ in paths]
    assert found == [
        ".hidden/conf.py",
        "README.md",
        "keep.log",
        "latin.txt",
        "src/crlf.py",
        "src/main.py",
        "src/pkg/important.tmp",
        "src/pkg/uni.py",
    ]  # not: ignored files, binary files, symlinks, .git


def test_tool_output_is_the_same_with_either_engine(
    tree: Path, ctx: ToolContext, registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = {"pattern": "TODO|def", "context": 1}
    with_rg = registry.call("search", args, ctx).content
    monkeypatch.setattr(search_mod, "find_rg", lambda: None)
    with_python = registry.call("search", args, ctx).content
    assert with_rg == with_python
    assert "src/main.py:3: def main():" in with_rg
    assert "src/main.py-2- " in with_rg
    assert "src/crlf.py:2:     x = 1  # TODO" in with_rg  # the \r is not shown
    assert with_rg.endswith("[11 matches in 8 files]")


def test_output_is_capped_with_a_count(workspace: Path) -> None:
    (workspace / "many.txt").write_text("hit\n" * 1000)
    for engine in ("rg", "python"):
        outcome = grep(workspace, "hit", engine=engine)
        text = format_outcome(outcome, "hit")
        assert text.count("many.txt:") == 250
        assert text.endswith(
            "[1000 matches in 1 file; 750 more matches not shown - narrow the path, glob or pattern]"
        )


@pytest.mark.parametrize("engine", ["rg", "python"])
def test_invalid_regex_is_a_clear_error(
    workspace: Path, ctx: ToolContext, registry, engine, monkeypatch
) -> None:
    (workspace / "a.txt").write_text("x\n")
    if engine == "python":
        monkeypatch.setattr(search_mod, "find_rg", lambda: None)
    result = registry.call("search", {"pattern": "foo("}, ctx)
    assert result.is_error and ("regex" in result.content or "regular expression" in result.content)


def test_no_matches_and_bad_arguments(call: Call, tree: Path) -> None:
    assert call("search", pattern="zzz_nothing").content == "No matches for 'zzz_nothing'."
    assert "no such file" in call("search", pattern="x", path="missing").content
    assert "context must be" in call("search", pattern="x", context=50).content
    assert "empty pattern" in call("search", pattern="").content


def test_pattern_starting_with_a_dash(call: Call, workspace: Path) -> None:
    (workspace / "a.txt").write_text("--verbose flag\n")
    assert "a.txt:1: --verbose flag" in call("search", pattern="--verbose").content


@pytest.mark.parametrize("engine", ["rg", "python"])
def test_odd_file_names_in_results_are_quoted(workspace: Path, engine: str) -> None:
    (workspace / "evil\napp.py:1: forged").write_text("needle\n")
    text = format_outcome(grep(workspace, "needle", engine=engine), "needle")
    assert text.splitlines()[0] == '"evil\\napp.py:1: forged":1: needle'
    assert not any(line.startswith("app.py") for line in text.splitlines())
