"""AGENTS.md: read through the gate for the project (no symlink out, regular files only), capped for everyone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.instructions import MAX_INSTRUCTIONS_CHARS, load_instructions


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    user, root = tmp_path / "config", tmp_path / "repo"
    sub = root / "pkg"
    sub.mkdir(parents=True)
    user.mkdir()
    return user, root, sub


def _load(user: Path, root: Path, workspace: Path) -> tuple[str, list[str]]:
    warnings: list[str] = []
    return load_instructions(user, root, workspace, warnings.append), warnings


def test_user_root_and_subfolder_instructions_most_general_first(dirs) -> None:
    user, root, sub = dirs
    for where, text in ((user, "mine"), (root, "project"), (sub, "package")):
        (where / "AGENTS.md").write_text(f"{text}\n")
    text, warnings = _load(user, root, sub)
    assert [line for line in text.splitlines() if not line.startswith("#")] == [
        "mine",
        "",
        "project",
        "",
        "package",
    ]
    assert warnings == []
    assert _load(user, root, root)[0].count("# Instructions from") == 2


@pytest.mark.parametrize("where", ["root", "sub"])
def test_a_symlink_out_of_the_workspace_is_skipped_with_a_warning(dirs, tmp_path: Path, where: str) -> None:
    user, root, sub = dirs
    (tmp_path / "secret.txt").write_text("password\n")
    folder = root if where == "root" else sub
    (folder / "AGENTS.md").symlink_to(tmp_path / "secret.txt")
    text, warnings = _load(user, root, sub)
    assert text == ""
    assert len(warnings) == 1 and "outside the workspace" in warnings[0] and "\n" not in warnings[0]


def test_fifo_directory_and_device_are_skipped_not_read(dirs) -> None:
    user, root, sub = dirs
    os.mkfifo(root / "AGENTS.md")  # reading it would block forever
    (sub / "AGENTS.md").mkdir()
    os.mkfifo(user / "AGENTS.md")
    text, warnings = _load(user, root, sub)
    assert text == ""
    assert len(warnings) == 3 and all(w.startswith("skipped ") and "\n" not in w for w in warnings)
    reasons = {w.split(": ", 1)[0].removeprefix("skipped "): w.split(": ", 1)[1].lower() for w in warnings}
    assert "not a regular file" in reasons[str(root / "AGENTS.md")]
    assert "directory" in reasons[str(sub / "AGENTS.md")]
    assert "not a regular file" in reasons[str(user / "AGENTS.md")]


def test_the_users_own_file_may_be_a_symlink_but_not_to_a_device(dirs, tmp_path: Path) -> None:
    user, root, sub = dirs
    (tmp_path / "dotfiles.md").write_text("from my dotfiles\n")
    (user / "AGENTS.md").symlink_to(tmp_path / "dotfiles.md")
    assert "from my dotfiles" in _load(user, root, root)[0]
    (user / "AGENTS.md").unlink()
    (user / "AGENTS.md").symlink_to("/dev/zero")  # endless: must not be read whole
    text, warnings = _load(user, root, root)
    assert text == "" and "not a regular file" in warnings[0]


def test_a_huge_file_is_cut_without_being_read_whole(dirs) -> None:
    user, root, _ = dirs
    with open(root / "AGENTS.md", "wb") as f:
        f.truncate(2**34)  # 16 GiB sparse file of NUL bytes: reading it whole would exhaust memory
    text, warnings = _load(user, root, root)
    body = text.split("\n", 1)[1]
    assert body.endswith("[... AGENTS.md truncated ...]")
    assert len(body) <= MAX_INSTRUCTIONS_CHARS + 40 and warnings == []
