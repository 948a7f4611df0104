"""The REPL driven as a user drives it: a real ``agent`` process on a pseudo-terminal, keys in, screen out."""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from tests.fakes.openai_server import FakeOpenAI, call, text_reply, tool_reply
from tests.fakes.workspace import BUGGY, git_repo

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-B]|\x1b[=>]|\r")


class Terminal:
    """A child process on a pty: ``send`` types keys, ``expect`` waits until the screen output shows a pattern."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave,
                                     start_new_session=True)  # fmt: skip
        os.close(slave)
        self.master = master
        self.raw = b""
        self.seen = 0  # expect() only looks at output after the last match
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            self.raw += data

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw.decode("utf-8", errors="replace"))

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def expect(self, pattern: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.text[self.seen :])
            if match:
                self.seen += match.end()
                return match.group(0)
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not on screen; last output:\n{self.text[-1500:]}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        os.close(self.master)


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


def start(repo: Path, server: FakeOpenAI, *extra: str) -> Terminal:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "KIRI_"))}
    env |= {"KIRI_HOME": str(repo.parent / "home"), "KIRI_API_KEY": "sk-test", "TERM": "xterm-256color",
            "PROMPT_TOOLKIT_NO_CPR": "1"}  # fmt: skip
    env.pop("NO_COLOR", None)
    return Terminal([sys.executable, "-m", "agent", "--base-url", server.url, *extra], repo, env)


def test_repl_session_with_slash_commands_and_an_approval(server, tmp_path):
    repo = git_repo(tmp_path / "proj", BUGGY)
    server.add(
        tool_reply(call("write_file", {"path": "hello.txt", "content": "hi there\n"}, "w1")),
        text_reply("Created **hello.txt**."),
    )
    term = start(repo, server)
    try:
        term.expect(r"approval ask")
        term.expect(r"\n> ?")
        term.send("/help\r")
        term.expect(r"/approval MODE")
        term.send("create hello.txt saying hi there\r")
        term.expect(r"hello\.txt\? \[y\]es / \[n\]o / \[a\]lways")
        assert not (repo / "hello.txt").exists()  # nothing written before the user said yes
        term.send("y\r")
        term.expect(r"Created hello\.txt\.")
        assert (repo / "hello.txt").read_text() == "hi there\n"
        assert "\x1b[" in term.raw.decode(errors="replace")  # a terminal gets colour and markdown rendering
        term.send("/diff\r")
        term.expect(r"\+hi there")
        term.send("/tokens\r")
        term.expect(r"session: 22 in / 14 out")
        term.send("/exit\r")
        assert term.proc.wait(20) == 0
    finally:
        term.close()
    user_turn = server.requests[0]["messages"][-1]
    assert user_turn == {"role": "user", "content": "create hello.txt saying hi there"}
    assert (tmp_path / "home" / "history").read_text().count("create hello.txt") == 1


def test_declined_approval_is_reported_to_the_model_and_ctrl_c_twice_exits(server, tmp_path):
    repo = git_repo(tmp_path / "proj", BUGGY)
    server.add(
        tool_reply(call("run_shell", {"command": "rm calc.py"}, "s1")),
        text_reply("Understood, I left it."),
    )
    term = start(repo, server)
    try:
        term.expect(r"\n> ?")
        term.send("remove @calc.py\r")
        term.expect(r"rm calc\.py\? \[y\]es")
        term.send("n\r")
        term.expect(r"Understood, I left it\.")
        term.expect(r"\n> ?")
        term.send("\x03")
        term.expect(r"Ctrl-C again to exit")
        term.send("\x03")
        assert term.proc.wait(20) == 130
    finally:
        term.close()
    assert (repo / "calc.py").exists()
    first = server.requests[0]["messages"][-1]["content"]
    assert (
        first.startswith("remove @calc.py") and '<file path="calc.py">' in first and "return a - b" in first
    )
    [result] = [m for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert "declined" in result["content"]


def test_piped_stdin_gets_plain_text_without_escape_codes(server, tmp_path):
    repo = git_repo(tmp_path / "proj", BUGGY)
    server.add(text_reply("# Title\n\nPlain **answer**."))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "KIRI_"))}
    env |= {"KIRI_HOME": str(tmp_path / "home"), "KIRI_API_KEY": "sk-test", "TERM": "xterm-256color"}
    proc = subprocess.run([sys.executable, "-m", "agent", "--base-url", server.url], cwd=repo, env=env,
                          input="hello\n/tokens\n", capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "# Title\n\nPlain **answer**." in proc.stdout and "session: 11 in / 7 out" in proc.stdout
    assert "\x1b" not in proc.stdout + proc.stderr
