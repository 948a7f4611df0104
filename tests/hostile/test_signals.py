"""Signals and kills at known points of a turn: the session must stay resumable and must not stay ``active``.

Every case drives the real ``agent`` in a subprocess and synchronises on something observable (the request log
of the scripted server, a pid file the shell command writes, text on stdout, the stored user message), never on
a sleep. What must hold: the documented exit code (130 SIGINT, 143 SIGTERM, 129 SIGHUP), no traceback, the
session not ``active``, the command's process group gone, and a history in which every tool call is answered.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_server import call, text_reply, tool_reply
from tests.hostile.conftest import Hostile
from tests.procs import dies

WAIT_S = 60.0


def _start(hostile: Hostile, task: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--yes", task],
        cwd=hostile.project,
        env=hostile.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _until(condition: Any, what: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"agent exited ({proc.returncode}) before {what}: {proc.stderr.read()!r}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _finish(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=WAIT_S)
    return proc.returncode, err.decode("utf-8", "replace")


def _shell_task(hostile: Hostile) -> tuple[Path, str]:
    """A command that starts a child and records both pids (atomically) before it waits forever."""
    pid_file = hostile.tmp / "cmd.pid"
    command = f"sleep 300 & echo $$ $! > {pid_file}.tmp && mv {pid_file}.tmp {pid_file}; wait"
    return pid_file, command


def _pids(pid_file: Path) -> list[int]:
    return [int(p) for p in pid_file.read_text().split()]


def _session(hostile: Hostile) -> dict[str, Any]:
    run = hostile.agent("sessions", "--json")
    assert run.code == 0 and run.clean, run.err
    [found] = json.loads(run.out)
    return found


def _stored(hostile: Hostile, session_id: str) -> list[dict[str, Any]]:
    with sqlite3.connect(hostile.db) as conn:
        rows = conn.execute(
            "SELECT role, content, tool_calls, tool_call_id FROM messages WHERE session_id = ? ORDER BY seq",
            (session_id,),
        ).fetchall()
    return [
        {"role": r, "content": c, "tool_calls": json.loads(t) if t else None, "tool_call_id": i}
        for r, c, t, i in rows
    ]


def _tool_runs(hostile: Hostile, session_id: str) -> list[tuple[str, str]]:
    with sqlite3.connect(hostile.db) as conn:
        return conn.execute(
            "SELECT name, result FROM tool_runs WHERE session_id = ? ORDER BY id", (session_id,)
        ).fetchall()


def assert_valid(messages: list[dict[str, Any]]) -> None:
    """What OpenAI-style APIs demand: each tool call answered by a tool message before any other message."""
    for index, message in enumerate(messages):
        for tool_call in message.get("tool_calls") or []:
            answers = []
            for later in messages[index + 1 :]:
                if later["role"] != "tool":
                    break
                answers.append(later["tool_call_id"])
            assert tool_call["id"] in answers, f"tool call {tool_call['id']} unanswered in {messages}"


def _kill_9_mid_tool_call(hostile: Hostile) -> str:
    """A turn killed with SIGKILL while its shell command runs; the orphaned command is cleaned up here."""
    pid_file, command = _shell_task(hostile)
    hostile.server.add(tool_reply(call("run_shell", {"command": command}, "k1"), call("list_dir", {}, "k2")))
    proc = _start(hostile, "run the command")
    _until(pid_file.exists, "the shell command to start", proc)
    proc.send_signal(signal.SIGKILL)
    code, _ = _finish(proc)
    assert code == -signal.SIGKILL
    leader, _ = _pids(pid_file)
    os.killpg(leader, signal.SIGKILL)  # nobody is left to do it: SIGKILL cannot be caught
    return _session(hostile)["id"]


def test_kill_9_mid_tool_call_then_resume_sends_a_history_the_api_accepts(hostile: Hostile) -> None:
    session_id = _kill_9_mid_tool_call(hostile)
    hostile.server.add(text_reply("picked up where we left off"))
    run = hostile.agent("resume", session_id[:8], stdin="go on\n")
    assert run.code == 0 and run.clean, run.err
    sent = hostile.server.requests[-1]["messages"]
    assert sent[-1] == {"role": "user", "content": "go on"}
    assert_valid(sent)
    answers = {m["tool_call_id"]: m["content"] for m in sent if m["role"] == "tool"}
    assert set(answers) == {"k1", "k2"} and all("interrupted" in a for a in answers.values())
    assert _session(hostile)["status"] != "active"  # the REPL released it on leaving


def test_sessions_after_kill_9_does_not_show_it_active(hostile: Hostile) -> None:
    hostile.server.add(text_reply("slow " * 200, delay=0.5))
    proc = _start(hostile, "talk slowly")
    _until(lambda: hostile.server.requests, "the request", proc)
    proc.send_signal(signal.SIGKILL)
    assert _finish(proc)[0] == -signal.SIGKILL
    listed = _session(hostile)
    assert listed["status"] == "interrupted"
    shown = hostile.agent("show", listed["id"][:8], "--json")
    assert shown.code == 0 and json.loads(shown.out)["session"]["status"] == "interrupted"


def test_resuming_twice_sends_the_same_history(hostile: Hostile) -> None:
    session_id = _kill_9_mid_tool_call(hostile)
    hostile.server.add(text_reply("first"))
    assert hostile.agent("resume", session_id[:8], stdin="again\n").code == 0
    first = hostile.server.requests[-1]["messages"]
    hostile.server.add(text_reply("second"))
    assert hostile.agent("resume", session_id[:8], stdin="again\n").code == 0
    second = hostile.server.requests[-1]["messages"]
    assert_valid(first)
    assert json.dumps(second[: len(first)]) == json.dumps(first)  # byte for byte, answers stored only once
    assert second[len(first) :] == [
        {"role": "assistant", "content": "first"},
        {"role": "user", "content": "again"},
    ]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_mid_shell_command_stop_it_and_record_the_turn(
    hostile: Hostile, signum: int, code: int
) -> None:
    pid_file, command = _shell_task(hostile)
    hostile.server.add(tool_reply(call("run_shell", {"command": command}, "t1")))
    proc = _start(hostile, "run the command")
    _until(pid_file.exists, "the shell command to start", proc)
    proc.send_signal(signum)
    returncode, err = _finish(proc)
    assert returncode == code, err
    assert "Traceback" not in err
    for pid in _pids(pid_file):
        assert dies(pid), f"process {pid} of the command survived {signal.Signals(signum).name}"
    listed = _session(hostile)
    assert listed["status"] == "interrupted"
    assert_valid(_stored(hostile, listed["id"]))
    [(name, result)] = _tool_runs(hostile, listed["id"])
    assert name == "run_shell" and result.startswith("interrupted;")


def _shown(proc: subprocess.Popen[bytes], marker: bytes) -> None:
    """Read the agent's stdout until ``marker`` was printed (the answer streams there)."""
    seen = b""
    deadline = time.monotonic() + WAIT_S
    while marker not in seen:
        assert time.monotonic() < deadline, f"{marker!r} never shown; got {seen[-200:]!r}"
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            assert chunk, f"stdout closed before {marker!r}: {seen[-200:]!r}"
            seen += chunk


def _user_message_stored(hostile: Hostile) -> bool:
    if not hostile.db.exists():
        return False
    try:
        with sqlite3.connect(hostile.db) as conn:
            return conn.execute("SELECT 1 FROM messages WHERE role = 'user'").fetchone() is not None
    except sqlite3.OperationalError:  # tables not created yet
        return False


POINTS = ["turn_start", "request_received", "stream_delayed", "shell_command"]


@pytest.mark.parametrize("point", POINTS)
def test_sigint_at_each_point_of_a_turn_exits_130_and_stays_resumable(hostile: Hostile, point: str) -> None:
    pid_file, command = _shell_task(hostile)
    if point == "shell_command":
        hostile.server.add(
            tool_reply(call("run_shell", {"command": command}, "i1"), call("list_dir", {}, "i2"))
        )
    elif point == "request_received":
        hostile.server.add(text_reply("never " * 50, delay=120))  # a server that hangs after the first chunk
    else:
        hostile.server.add(text_reply("streamed " * 400, delay=0.05))
    proc = _start(hostile, "do the thing")
    if point == "turn_start":
        _until(lambda: _user_message_stored(hostile), "the user message", proc)
    elif point == "request_received":
        _until(lambda: hostile.server.requests, "the request", proc)
    elif point == "stream_delayed":
        _shown(proc, b"streamed")
    else:
        _until(pid_file.exists, "the shell command to start", proc)
    stopped = time.monotonic()
    # Twice, as an impatient user does: the second press must not cut the recording of the first short.
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    code, err = _finish(proc)
    assert code == 130, err
    assert time.monotonic() - stopped < 20  # not held by the hung server nor the command
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    listed = _session(hostile)
    assert listed["status"] == "interrupted"
    stored = _stored(hostile, listed["id"])
    assert_valid(stored)
    if point == "shell_command":
        for pid in _pids(pid_file):
            assert dies(pid), f"process {pid} of the interrupted command survived"
        [(name, result)] = _tool_runs(hostile, listed["id"])
        assert name == "run_shell" and result.startswith("interrupted;")
    if point == "stream_delayed":
        assert stored[-1]["role"] == "assistant" and "streamed" in stored[-1]["content"]
        assert stored[-1]["content"].endswith("[interrupted by the user]")
    hostile.server.script.clear()  # a turn stopped before its request leaves its scripted reply unused
    hostile.server.add(text_reply("resumed fine"))
    run = hostile.agent("resume", listed["id"][:8], stdin="continue\n")
    assert run.code == 0 and run.clean, run.err
    assert_valid(hostile.server.requests[-1]["messages"])


def test_sigterm_in_the_repl_mid_shell_command_leaves_with_143_and_releases_the_session(
    hostile: Hostile,
) -> None:
    pid_file, command = _shell_task(hostile)
    hostile.server.add(tool_reply(call("run_shell", {"command": command}, "r1")))
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "--yes"],
        cwd=hostile.project,
        env=hostile.env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    proc.stdin.write(b"run the command\n")
    proc.stdin.flush()  # and kept open: the REPL would read the next line after the turn
    _until(pid_file.exists, "the shell command to start", proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 143, err
    assert b"Traceback" not in err + out
    for pid in _pids(pid_file):
        assert dies(pid), f"process {pid} of the command survived SIGTERM"
    listed = _session(hostile)
    assert listed["status"] == "interrupted"
    assert_valid(_stored(hostile, listed["id"]))
