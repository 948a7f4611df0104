"""The run_shell tool: one command in the workspace, with a timeout that kills its whole process group."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tools.context import StopRequest, ToolContext
from tools.errors import ToolError

DEFAULT_TIMEOUT_S = 120
MAX_TIMEOUT_S = 1800
STREAM_BYTES = 12_000  # per stream; head and tail are kept
KILL_GRACE_S = 2.0
POLL_S = 0.05  # how often a running command's wait looks at the stop request


@dataclass(frozen=True)
class ShellRun:
    """The outcome of one command."""

    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float
    interrupted: bool = False  # killed because the turn was asked to stop


def run_shell(ctx: ToolContext, command: str, timeout: int = DEFAULT_TIMEOUT_S) -> str:
    """Run a bash command in the workspace directory and return its exit code, stdout and stderr (long
    output keeps its head and tail). Nothing is read from stdin. On timeout the command and everything it
    started are killed. Use it for tests, builds and tools; use the file tools to read and change files.

    Args:
        command: The command line, run with `bash -c` in the workspace root.
        timeout: Seconds before the command is killed (1-1800).
    """
    if not command.strip():
        raise ToolError("empty command")
    if not 1 <= timeout <= MAX_TIMEOUT_S:
        raise ToolError(f"timeout must be between 1 and {MAX_TIMEOUT_S} seconds")
    ctx.gate.approve_shell(command)
    run = run_command(command, ctx.gate.workspace, timeout, stop=ctx.stop)
    if run.interrupted:
        head = "interrupted; the command and its child processes were killed"
    elif run.timed_out:
        head = f"timed out after {timeout}s; the command and its child processes were killed"
    else:
        head = f"exit code: {run.exit_code}"
    parts = [head]
    for name, text in (("stdout", run.stdout), ("stderr", run.stderr)):
        if text:
            parts.append(f"{name}:\n{text.rstrip()}")
    if not run.stdout and not run.stderr:
        parts.append("(no output)")
    return "\n".join(parts)


def run_command(
    command: str,
    cwd: Path,
    timeout: float,
    stream_bytes: int = STREAM_BYTES,
    stop: StopRequest | None = None,
) -> ShellRun:
    """Run `command` in its own session (so the whole group can be killed); output goes to temp files so a
    chatty command cannot fill memory or block on a full pipe. Once `stop` is set the group is killed and the
    run comes back with `interrupted` (a stop arrives as a flag, not as an exception: see agent.interrupt)."""
    shell = shutil.which("bash") or "/bin/sh"
    env = {**os.environ, "PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0"}
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [shell, "-c", command],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,
        )
        timed_out = interrupted = False
        try:
            code = _wait(proc, start + timeout, stop)
            if code is None:
                interrupted = stop is not None and stop.is_set()
                timed_out = not interrupted
                code = _kill_group(proc)
        except BaseException:  # a KeyboardInterrupt all the same: do not leave the command running
            _kill_group(proc)
            raise
        return ShellRun(
            code,
            _head_tail(out, stream_bytes),
            _head_tail(err, stream_bytes),
            timed_out,
            time.monotonic() - start,
            interrupted,
        )


def _wait(proc: subprocess.Popen[bytes], deadline: float, stop: StopRequest | None) -> int | None:
    """The exit code, or None at the deadline or once `stop` is set (looked at every POLL_S)."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or (stop is not None and stop.is_set()):
            return None
        try:
            return proc.wait(min(left, POLL_S))
        except subprocess.TimeoutExpired:
            continue


def _kill_group(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM the process group, then SIGKILL whatever is left after a short grace."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            return_code = proc.wait(KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:
            # the leader is gone; children that ignored SIGTERM still get SIGKILL
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return return_code
    return proc.wait()


def _head_tail(f: IO[bytes], limit: int) -> str:
    size = f.seek(0, os.SEEK_END)
    f.seek(0)
    if size <= limit:
        return f.read().decode("utf-8", "replace")
    head = f.read(limit // 2).decode("utf-8", "replace")
    f.seek(size - limit // 2)
    tail = f.read().decode("utf-8", "replace")
    return f"{head}\n[... {size - limit} bytes of output cut from the middle ...]\n{tail}"
