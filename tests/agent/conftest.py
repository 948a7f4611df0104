"""Fixtures for the command-line tests: a project directory and a database written through memory.Store."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.cli import main


@dataclass
class Seeded:
    """A database with two sessions in ``project`` and one elsewhere, written by the real store."""

    url: str
    project: Path
    other: Path
    first: str  # in project: user -> assistant tool call -> tool result with a file change -> assistant
    second: str  # in project, newer: a short exchange with a long, multi-byte title
    elsewhere: str  # in other


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git repository (so the workspace root is its toplevel) with one tracked file."""
    repo = tmp_path / "project"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "app.py").write_text("print('hello')\n")
    return repo


@pytest.fixture
def seeded(tmp_path: Path, project: Path) -> Seeded:
    from memory import Store

    url = f"sqlite:///{tmp_path / 'kiri.sqlite3'}"
    other = tmp_path / "other"
    other.mkdir()
    store = Store(url)
    common = dict(backend="remote", model="gpt-4o-mini", prompt_name="system", prompt_version="1.2.0")
    first = store.create_session(project_dir=str(project), system_prompt="You are kiri.", **common)
    store.append_message(first, "user", "Say goodbye instead of hello")
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "edit_file", "arguments": '{"path": "app.py"}'},
    }
    store.append_message(first, "assistant", "I will edit app.py.", tool_calls=[call])
    result = "\n".join(f"line {i}" for i in range(60))
    msg = store.append_message(first, "tool", result, tool_call_id="call_1", name="edit_file")
    run = store.record_tool_run(
        first, tool_call_id="call_1", name="edit_file", arguments={"path": "app.py"}, result=result,
        duration_s=0.25, message_id=msg,
    )  # fmt: skip
    diff = "--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-print('hello')\n+print('goodbye')\n"
    store.record_file_change(
        first,
        path="app.py",
        before=b"print('hello')\n",
        after=b"print('goodbye')\n",
        diff=diff,
        tool_run_id=run,
    )
    store.append_message(first, "assistant", "Done: app.py now says goodbye.")
    store.update_session(first, status="done")

    second = store.create_session(project_dir=str(project), system_prompt="You are kiri.", **common)
    store.append_message(second, "user", "Ünïcödé títle " + "日本語のテキスト👩‍👩‍👧" * 10)
    store.append_message(second, "assistant", "ok")

    elsewhere = store.create_session(project_dir=str(other), system_prompt=None, **common)
    store.append_message(elsewhere, "user", "a task in another project")
    store.close()
    return Seeded(url, project, other, first, second, elsewhere)


@dataclass
class Outcome:
    """What one in-process ``agent`` invocation printed and how it exited."""

    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """Run ``agent.cli.main`` in-process, through its error edge, from ``cwd``; stdin is ``stdin`` (not a tty)."""

    def invoke(args: list[str], cwd: Path, stdin: str = "") -> Outcome:
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:
            raise AssertionError("main() must end with sys.exit")
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return invoke
