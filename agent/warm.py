"""A warm pytest: one process that has imported pytest and its plugins, forking a fresh child per test run.

Verifying repair candidates means running the same small suite hundreds of times. Most of a cold run is start-up:
the interpreter, pytest, and every installed plugin (hypothesis alone takes a second to import). A server imports
all of that once, then for each run forks a child that chdirs into the scratch copy and calls `pytest.main`. The
child starts from the server's state, which never imported project code, so every candidate is imported fresh from
disk, exactly as in a cold run. The child leads its own process group, so a timeout kills any helpers it started.

Only plain pytest commands qualify (`python -m pytest ARGS`, `pytest ARGS`, no shell syntax); `WarmPytest.for_command`
returns None for anything else and the caller runs the command cold.
"""

from __future__ import annotations

import json
import os
import re
import select
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tools.capture import read_head_tail
from tools.limits import TEST_OUTPUT_BYTES

# Runs inside the server process, started with the project's interpreter: it must not import anything from kiri.
_SERVER = r"""
import contextlib, gc, importlib.metadata, io, json, os, select, signal, sys, tempfile, time
import pytest
# One throwaway session in an empty directory imports what pytest and its plugins load lazily, so that no child
# pays for it; its output is discarded.
with tempfile.TemporaryDirectory() as empty, contextlib.redirect_stdout(io.StringIO()):
    try:
        pytest.main(["-q", "--co", "-p", "no:cacheprovider", empty])
    except BaseException:
        pass
# Everything alive now is shared with the children: keep the collector away from it (pytest runs gc.collect at
# the end of each session, which would otherwise walk and copy the whole inherited heap).
gc.freeze()
print("ready", flush=True)
for line in sys.stdin:
    if not line.startswith("{"):
        continue  # a "cancel" that arrived after its run had already finished
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            os.chdir(req["cwd"])
            fd = os.open(req["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            sys.stdin = open(0)
            if not req["cwd_on_path"]:
                sys.path[:] = [p for p in sys.path if p]  # `pytest` (unlike `python -m pytest`) adds no cwd
            sys.argv = ["pytest", *req["argv"]]
            code = pytest.main(req["argv"])
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(int(code))
        except BaseException as exc:
            os.write(2, f"kiri warm pytest: {exc!r}\n".encode())
            os._exit(4)
    start, status, why = time.monotonic(), None, ""
    while status is None:
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(raw)
            break
        if time.monotonic() - start > req["timeout"]:
            why = "timeout"
        elif select.select([sys.stdin], [], [], 0.01)[0]:
            why = "cancel"  # the only other thing the client ever sends while a run is on
        if why:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            if why == "cancel":
                sys.stdin.readline()
    print(json.dumps({"returncode": status, "why": why}), flush=True)
"""

_SHELL_SYNTAX = re.compile(r"[;&|<>`$(){}]|^\w+=")
_PYTHON = re.compile(r"^python[0-9.]*$")


def pytest_argv(cmd: str) -> tuple[str, list[str], bool] | None:
    """(interpreter, pytest arguments, whether cwd is on sys.path) of a plain pytest command, else None."""
    try:
        words = shlex.split(cmd)
    except ValueError:
        return None
    if not words or any(_SHELL_SYNTAX.search(w) for w in words):
        return None
    if len(words) >= 3 and _PYTHON.match(Path(words[0]).name) and words[1:3] == ["-m", "pytest"]:
        python = shutil.which(words[0])
        return (python, words[3:], True) if python else None
    if Path(words[0]).name == "pytest":
        script = shutil.which(words[0])
        if not script:
            return None
        with open(script, "rb") as f:
            shebang = f.readline().decode(errors="replace")
        python = shebang[2:].strip() if shebang.startswith("#!") else ""
        # `#!/usr/bin/env python3` and friends are not a plain interpreter path: run those cold.
        return (python, words[1:], False) if python and " " not in python and os.path.exists(python) else None
    return None


class WarmPytest:
    """A pytest server for one test command. Use one per thread; `close` (or `with`) stops it."""

    def __init__(self, python: str, args: list[str], env: dict[str, str], cwd_on_path: bool = True) -> None:
        self.args, self.cwd_on_path = args, cwd_on_path
        self._out = Path(tempfile.mkdtemp(prefix="kiri-warm-")) / "out"
        self._proc = subprocess.Popen(
            [python, "-c", _SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
            start_new_session=True,
        )
        self._ready = False  # waited for on first use, so that several servers start side by side

    @classmethod
    def for_command(cls, cmd: str, env: dict[str, str]) -> WarmPytest | None:
        """A server for `cmd` (starting), or None when `cmd` is not a plain pytest command or cannot start."""
        parsed = pytest_argv(cmd)
        if parsed is None or not hasattr(os, "fork"):  # no fork (Windows): every run is cold
            return None
        try:
            return cls(*parsed[:2], env, cwd_on_path=parsed[2])
        except OSError:
            return None

    def run(
        self, cwd: Path, extra: list[str], timeout: float, cancel: threading.Event | None = None
    ) -> tuple[int, str, bool, bool] | None:
        """(returncode, output, timed out, cancelled) of pytest with the command's arguments plus `extra` in
        `cwd`; None if the server died (the caller then runs the command cold)."""
        if not self._ready:
            try:
                self._ready = self._read(timeout=60) == "ready"
            except (OSError, ValueError):
                self._ready = False
            if not self._ready:
                self.close()
                return None
        request = {
            "cwd": str(cwd),
            "argv": [*self.args, *extra],
            "timeout": timeout,
            "out": str(self._out),
            "cwd_on_path": self.cwd_on_path,
        }
        try:
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            cancel_sent = False
            # The server enforces `timeout`; this deadline only guards against a server that stops answering.
            deadline = time.monotonic() + timeout + 30
            while True:
                line = self._read(timeout=0.05)
                if line is not None:
                    break
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    return None
                if cancel is not None and cancel.is_set() and not cancel_sent:
                    self._proc.stdin.write("cancel\n")
                    self._proc.stdin.flush()
                    cancel_sent = True
        except (OSError, ValueError):
            self.close()
            return None
        reply = json.loads(line)
        # Only the ends: a suite printing without end must not take the memory with it (as a cold run keeps).
        output = read_head_tail(self._out, TEST_OUTPUT_BYTES) if self._out.exists() else ""
        return reply["returncode"], output, reply["why"] == "timeout", reply["why"] == "cancel"

    def _read(self, timeout: float) -> str | None:
        """One line from the server, or None if none came within `timeout` seconds."""
        if select.select([self._proc.stdout], [], [], timeout)[0]:
            line = self._proc.stdout.readline()
            return line.strip() if line else None
        return None

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._proc.stdin.close()
                self._proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self._out.parent, ignore_errors=True)

    def __enter__(self) -> WarmPytest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
