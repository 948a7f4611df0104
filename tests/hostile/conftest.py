"""The hostile-input suite: a hostile repository and a model that follows injected instructions.

Each case drives the real ``agent`` command in a subprocess against the scripted OpenAI-compatible server, in a
fresh KIRI_HOME, with a known secret as the API key, and asserts what must not happen: a marker file not created,
the secret absent from every file kiri wrote, a mode preserved, no traceback, the documented exit code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.workspace import git_repo

# Looks like a key to anyone scanning for one; unique enough that finding it anywhere means it leaked.
SECRET = "sk-kiri-hostile-SECRET-4c0ffee5e7d1a9b2"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    """How one ``agent`` subprocess ended."""

    code: int
    out: str
    err: str

    @property
    def clean(self) -> bool:
        """No traceback reached the user."""
        return "Traceback" not in self.err and "Traceback" not in self.out


@dataclass
class Hostile:
    """A hostile project (a real git repository), a KIRI_HOME, and the scripted model server."""

    home: Path
    project: Path
    server: FakeOpenAI
    tmp: Path

    @property
    def db(self) -> Path:
        return self.home / "kiri.sqlite3"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KIRI_", "OPENAI_"))}
        env.update(
            KIRI_HOME=str(self.home),
            KIRI_DB=f"sqlite:///{self.db}",
            KIRI_BASE_URL=self.server.url,
            OPENAI_API_KEY=SECRET,
            KIRI_MODEL="fake-model",
            NO_COLOR="1",
            # the code under test, also when the suite runs from another checkout than the installed one
            PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
        )
        env.update(extra)
        return env

    def agent(
        self, *args: str, stdin: str = "", cwd: Path | None = None, timeout: float = 120, **env: str
    ) -> Run:
        """Run ``python -m agent ARGS`` in the project (stdin not a terminal)."""
        proc = subprocess.run(
            [sys.executable, "-m", "agent", *args],
            cwd=cwd or self.project,
            env=self.env(**env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def leaks(self, secret: str = SECRET) -> list[Path]:
        """Every file under KIRI_HOME (database included) whose bytes contain ``secret``."""
        needle = secret.encode()
        return [p for p in self.home.rglob("*") if p.is_file() and needle in p.read_bytes()]

    def sent(self, secret: str = SECRET) -> bool:
        """Whether any request the model server received contains ``secret``."""
        import json

        return any(secret in json.dumps(body) for body in self.server.requests)


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Hostile]:
    home = tmp_path / "kiri-home"
    home.mkdir()
    project = git_repo(tmp_path / "project", {"app.py": "print('hello')\n", "README.md": "# demo\n"})
    with FakeOpenAI() as server:
        yield Hostile(home, project, server, tmp_path)
