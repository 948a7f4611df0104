"""Helpers shared by the agent tests: a real git repository in a temp dir and Settings aimed at the fake server."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from agent.settings import Settings


def git_repo(root: Path, files: dict[str, str]) -> Path:
    """A real git repository at ``root`` with ``files`` committed."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    env_args = [
        "-c",
        "user.name=kiri-test",
        "-c",
        "user.email=test@kiri.invalid",
        "-c",
        "commit.gpgsign=false",
    ]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", *env_args, "commit", "-qm", "initial"], cwd=root, check=True)
    return root


def make_settings(workspace: Path, base_url: str, db: Path, **overrides: Any) -> Settings:
    """Settings for a remote session against the fake server, everything else explicit."""
    values: dict[str, Any] = {
        "db_url": f"sqlite:///{db}",
        "workspace": workspace.resolve(),
        "workspace_root": workspace.resolve(),
        "backend": "remote",
        "model": "fake-model",
        "base_url": base_url,
        "api_key": "sk-test",
        "approval": "full-auto",
        "max_steps": 10,
        "color": False,
        "shell_timeout": 60,
    }
    values.update(overrides)
    return Settings(**values)


# A tiny project with one bug: add() subtracts. Its test fails until the "-" becomes "+".
BUGGY = {
    "calc.py": "def add(a, b):\n    return a - b\n",
    "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}
