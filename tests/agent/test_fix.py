"""``agent fix`` as a user runs it: a real ``agent`` subprocess, a real git repo, the fake model server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memory import Store
from tests.fakes.openai_server import FakeOpenAI, call, error_reply, text_reply, tool_reply
from tests.fakes.workspace import BUGGY, git_repo

TEST_CMD = f"{sys.executable} -m pytest -q -p no:cacheprovider test_calc.py"


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


def agent(args: list[str], repo: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "KIRI_"))}
    env |= {"KIRI_HOME": str(repo.parent / "home"), "KIRI_API_KEY": "sk-test", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "agent", *args], cwd=repo, env=env, capture_output=True, text=True,
        timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_fix_turns_a_failing_test_green(server, tmp_path):
    repo = git_repo(tmp_path / "proj", BUGGY)
    server.add(
        tool_reply(call("read_file", {"path": "calc.py"}, "c1")),
        tool_reply(call("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"}, "c2")),
        text_reply("`add` subtracted instead of adding; fixed."),
    )
    proc = agent(
        ["fix", "--base-url", server.url, "--yes", "--json", "--test-cmd", TEST_CMD, "add is wrong"], repo
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["verified"] is True and summary["files_changed"] == ["calc.py"]
    assert "+    return a + b" in summary["diff"] and summary["steps"] == 3
    assert summary["tokens"] == {"prompt_tokens": 33, "completion_tokens": 21} and summary["seconds"] > 0
    assert (repo / "calc.py").read_text().endswith("return a + b\n")
    # The model got the fix prompt, the description and the real failure output.
    first = server.requests[0]["messages"]
    assert "repairing a failing test suite" in first[0]["content"] and TEST_CMD in first[0]["content"]
    assert first[1]["content"].startswith("add is wrong") and "assert -1 == 5" in first[1]["content"]
    # The session is stored like any other and can be resumed.
    store = Store(f"sqlite:///{tmp_path / 'home' / 'kiri.sqlite3'}")
    record = store.get_session(summary["session_id"])
    assert (record.prompt_name, record.status) == ("fix", "done")


def test_fix_that_does_not_work_exits_1_with_the_tests_still_failing(server, tmp_path):
    repo = git_repo(tmp_path / "proj", BUGGY)
    server.add(
        tool_reply(call("edit_file", {"path": "calc.py", "old": "a - b", "new": "a * b"}, "c1")),
        text_reply("I changed it to multiply."),
    )
    proc = agent(["fix", "--base-url", server.url, "--yes", "--test-cmd", TEST_CMD, "add is wrong"], repo)
    assert proc.returncode == 1, proc.stderr
    assert "not fixed" in proc.stdout and "+    return a * b" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_fix_with_passing_tests_does_nothing(server, tmp_path):
    repo = git_repo(tmp_path / "proj", {**BUGGY, "calc.py": "def add(a, b):\n    return a + b\n"})
    proc = agent(["fix", "--base-url", server.url, "--yes", "--test-cmd", TEST_CMD, "add"], repo)
    assert proc.returncode == 0 and "nothing to fix" in proc.stdout
    assert server.requests == []


def test_model_server_down_exits_3_with_one_line(server, tmp_path):
    repo = git_repo(tmp_path / "proj", BUGGY)
    server.add(*[error_reply(503, "overloaded", {"Retry-After": "0"}) for _ in range(10)])
    proc = agent(["fix", "--base-url", server.url, "--yes", "--test-cmd", TEST_CMD, "add"], repo)
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and "server error (503)" in errors[0] and "attempts" in errors[0]
    assert len(server.requests) == 5  # one try and four retries


def test_run_task_one_shot(server, tmp_path):
    repo = git_repo(tmp_path / "proj", BUGGY)
    server.add(tool_reply(call("list_dir", {}, "c1")), text_reply("Two files: calc.py and its test."))
    proc = agent(["run", "--base-url", server.url, "--json", "what is here?"], repo)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["answer"] == "Two files: calc.py and its test." and summary["steps"] == 2
