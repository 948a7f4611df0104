"""The agent loop end to end: real openai SDK -> fake server, real tools in a real git repo, real SQLite store."""

from __future__ import annotations

import dataclasses
import io as stdio
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from agent.session import open_session
from agent.ui import IO
from memory import Store
from tests.fakes.openai_server import FakeOpenAI, call, text_reply, tool_reply
from tests.fakes.workspace import BUGGY, git_repo, make_settings
from tests.procs import dies


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def repo(tmp_path):
    return git_repo(tmp_path / "proj", BUGGY)


def plain_io() -> tuple[IO, stdio.StringIO]:
    out = stdio.StringIO()
    return IO(pretty=False, color=False, out=out, inp=stdio.StringIO("")), out


def settings_for(repo: Path, server: FakeOpenAI, **kw):
    return make_settings(repo, server.url, repo.parent / "kiri.sqlite3", **kw)


def test_multi_step_session_reads_edits_and_runs_the_tests(server, repo):
    server.add(
        tool_reply(call("read_file", {"path": "calc.py"}, "c1"), content="Let me look at the code."),
        tool_reply(call("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"}, "c2")),
        tool_reply(call("run_shell", {"command": "python -m pytest -q test_calc.py"}, "c3")),
        text_reply("Fixed `add`: it subtracted. The test passes now."),
    )
    io, out = plain_io()
    session = open_session(settings_for(repo, server), io)
    result = session.agent.run("make the test pass")

    assert result.status == "done" and result.steps == 4
    assert result.text.startswith("Fixed `add`")
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    # The model saw each tool's real result under the right call id.
    tool_msgs = [m for m in server.requests[3]["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_msgs] == ["c1", "c2", "c3"]
    assert "return a - b" in tool_msgs[0]["content"]
    assert "1 passed" in tool_msgs[2]["content"]
    # Everything is in the store, in order, exactly as sent.
    store = Store(session.settings.db_url)
    data = store.load(session.id)
    assert [m.role for m in data.messages] == ["system", "user"] + ["assistant", "tool"] * 3 + ["assistant"]
    assert store.messages_for_model(session.id)[:-1] == server.requests[3]["messages"]
    assert [r.name for r in data.tool_runs] == ["read_file", "edit_file", "run_shell"]
    [change] = store.file_changes(session.id)
    assert change.path == "calc.py" and "+    return a + b" in change.diff
    assert change.tool_run_id == data.tool_runs[1].id  # undo takes back the edit_file call as one step
    assert data.session.project_dir == str(repo)
    assert data.session.prompt_name == "system" and data.session.prompt_version == "1.0.0"
    assert data.session.usage == {"prompt_tokens": 44, "completion_tokens": 28}
    shown = out.getvalue()
    assert "> read_file(calc.py)" in shown and "+    return a + b" in shown and "\x1b[" not in shown


def test_malformed_arguments_and_unknown_tools_go_back_to_the_model(server, repo):
    server.add(
        tool_reply(call("read_file", '{"path": "calc.py"', "bad"), call("launch_rockets", {}, "unknown")),
        text_reply("Sorry, done."),
    )
    io, _ = plain_io()
    session = open_session(settings_for(repo, server), io)
    assert session.agent.run("go").status == "done"
    results = {m["tool_call_id"]: m["content"] for m in server.requests[1]["messages"] if m["role"] == "tool"}
    assert results["bad"].startswith("Error") and "JSON" in results["bad"]
    assert "unknown tool 'launch_rockets'" in results["unknown"]


def test_text_protocol_session_with_a_malformed_block(server, repo):
    server.add(
        text_reply('<tool_call>{"name": "read_file", "arguments": {"path": "calc.py"</tool_call>'),
        text_reply('<tool_call>{"name": "read_file", "arguments": {"path": "calc.py"}}</tool_call>'),
        text_reply("It subtracts."),
    )
    io, _ = plain_io()
    session = open_session(settings_for(repo, server), io)
    session.agent.backend.protocol = "text"
    assert session.agent.run("what does add do?").text == "It subtracts."
    second, third = server.requests[1]["messages"], server.requests[2]["messages"]
    assert "tools" not in server.requests[0]
    assert "malformed <tool_call> block" in second[-1]["content"] and second[-1]["role"] == "user"
    assert "return a - b" in third[-1]["content"] and "<tool_result" in third[-1]["content"]


def test_step_limit_stops_the_turn(server, repo):
    server.add(*[tool_reply(call("list_dir", {}, f"c{i}")) for i in range(3)])
    io, _ = plain_io()
    session = open_session(settings_for(repo, server, max_steps=3), io)
    result = session.agent.run("loop forever")
    assert (result.status, result.steps, len(server.requests)) == ("max_steps", 3, 3)
    assert session.store.messages_for_model(session.id)[-1]["role"] == "tool"  # every call answered


class InterruptingIO(IO):
    """Plain IO that sends this process SIGINT when the `at`-th piece of the answer is shown: the interrupt
    arrives at a known point of the stream, through the real handler, however loaded the machine is."""

    def __init__(self, at: int) -> None:
        super().__init__(pretty=False, color=False, out=stdio.StringIO(), inp=stdio.StringIO(""))
        self.at, self.shown = at, 0

    def stream_text(self, text: str) -> None:
        super().stream_text(text)
        self.shown += 1
        if self.shown == self.at:
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_during_generation_keeps_history_valid(server, repo):
    server.add(text_reply("word " * 400, split=5, delay=0.01), text_reply("Back again."))
    io = InterruptingIO(at=10)
    session = open_session(settings_for(repo, server), io)
    result = session.agent.run("write a long essay")
    assert (result.status, result.signum) == ("interrupted", signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the turn's handler is gone again
    stored = session.store.messages_for_model(session.id)
    assert stored[-1]["role"] == "assistant" and stored[-1]["content"].endswith("[interrupted by the user]")
    assert stored[-1]["content"].count("word") == 10  # nothing shown after the Ctrl-C, nothing shown lost
    assert session.agent.run("shorter please").text == "Back again."
    assert server.requests[1]["messages"] == stored + [{"role": "user", "content": "shorter please"}]


def test_ctrl_c_while_a_shell_command_runs_kills_it_and_records_the_run(server, repo):
    pid_file = repo / "cmd.pid"
    command = f"sleep 300 & echo $$ $! > {pid_file}.tmp && mv {pid_file}.tmp {pid_file}; wait"
    server.add(tool_reply(call("run_shell", {"command": command}, "s1"), call("list_dir", {}, "s2")))
    io, _ = plain_io()
    session = open_session(settings_for(repo, server, approval="full-auto"), io)
    started = threading.Thread(target=_interrupt_when_written, args=(pid_file,), daemon=True)
    started.start()
    result = session.agent.run("run it")
    started.join(30)
    assert (result.status, result.signum) == ("interrupted", signal.SIGINT)
    for pid in map(int, pid_file.read_text().split()):
        assert dies(pid), f"process {pid} of the interrupted command survived"
    [run] = session.store.load(session.id).tool_runs
    assert run.name == "run_shell" and run.result.startswith(
        "interrupted; the command and its child processes"
    )
    answers = {m["tool_call_id"]: m["content"] for m in session.store.messages_for_model(session.id)[-2:]}
    assert answers["s1"].startswith("interrupted;") and "[interrupted by the user]" in answers["s2"]


def _interrupt_when_written(path: Path) -> None:
    # The signal goes to the process, and Python runs its handler in the main thread, inside the turn.
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGINT)


def test_resume_sends_exactly_the_prior_messages(server, repo):
    server.add(
        tool_reply(call("read_file", {"path": "calc.py"}, "r1")),
        text_reply("add subtracts."),
        text_reply("Yes, I remember."),
    )
    io, _ = plain_io()
    settings = settings_for(repo, server)
    first = open_session(settings, io)
    first.agent.run("what is wrong?")
    before = server.requests[1]["messages"] + [{"role": "assistant", "content": "add subtracts."}]

    resumed = open_session(settings, plain_io()[0], first.id[:8])
    assert resumed.id == first.id and resumed.resumed
    resumed.agent.run("do you remember?")
    assert server.requests[2]["messages"] == before + [{"role": "user", "content": "do you remember?"}]
    assert json.dumps(server.requests[2]["messages"]) == json.dumps(
        before + [{"role": "user", "content": "do you remember?"}]
    )


def test_long_tool_output_is_truncated_with_a_note(server, repo):
    (repo / "big.txt").write_text("".join(f"line {i}\n" for i in range(3000)))
    server.add(tool_reply(call("read_file", {"path": "big.txt"}, "b")), text_reply("ok"))
    io, _ = plain_io()
    session = open_session(settings_for(repo, server, context_limit=4000), io)
    session.agent.run("read big.txt")
    [sent] = [m for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert len(sent["content"]) < 4500 and "truncated for the model" in sent["content"]
    [run] = session.store.load(session.id).tool_runs
    assert len(run.result) > len(sent["content"])  # the store keeps the full output


def test_a_session_started_in_a_subdirectory_undoes_the_right_file(server, repo):
    # Started in repo/sub, the session is filed under the repo root and its paths are relative to that root, so
    # `agent undo` (which resolves them against the root) restores sub/notes.txt, not a file of the same name above.
    from tools.changes import undo

    sub = repo / "sub"
    sub.mkdir()
    (sub / "notes.txt").write_text("original\n")
    (repo / "notes.txt").write_text("top level, not ours\n")
    server.add(
        tool_reply(call("edit_file", {"path": "sub/notes.txt", "old": "original", "new": "changed"}, "c1")),
        text_reply("Done."),
    )
    io, _ = plain_io()
    settings = dataclasses.replace(settings_for(repo, server), workspace=sub.resolve())
    session = open_session(settings, io)
    session.agent.run("change the notes")
    assert (sub / "notes.txt").read_text() == "changed\n"
    store = Store(session.settings.db_url)
    assert store.get_session(session.id).project_dir == str(repo.resolve())
    assert undo(store, session.id) == ["sub/notes.txt"]
    assert (sub / "notes.txt").read_text() == "original\n"
    assert (repo / "notes.txt").read_text() == "top level, not ours\n"
