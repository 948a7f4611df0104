"""The run_shell tool: one command in the workspace, with a timeout that kills its whole process group."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tools.capture import HeadTail, close, pump
from tools.context import StopRequest, ToolContext
from tools.errors import ToolError
from tools.limits import STREAM_BYTES
from tools.secrets import Secrets

DEFAULT_TIMEOUT_S = 120
MAX_TIMEOUT_S = 1800
KILL_GRACE_S = 2.0


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
    run = run_command(command, ctx.gate.workspace, timeout, secrets=ctx.secrets, stop=ctx.stop)
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
    *,
    secrets: Secrets | None = None,
    stop: StopRequest | None = None,
) -> ShellRun:
    """Run `command` in its own session (so the whole group can be killed), in our environment minus
    `secrets`. Its output is read through pipes as it comes and only the head and tail of each stream are
    kept, so a chatty command (`yes`) neither fills memory or the disk nor blocks on a full pipe. Once `stop`
    is set the group is killed and the run comes back `interrupted` (a stop arrives as a flag, not as an
    exception: see agent.interrupt)."""
    shell = shutil.which("bash") or "/bin/sh"
    secrets = secrets or Secrets()
    env = secrets.child_env(extra={"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0"})
    start = time.monotonic()
    proc = subprocess.Popen(
        [shell, "-c", command],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    out, err = HeadTail(stream_bytes), HeadTail(stream_bytes)
    streams = [(proc.stdout, out), (proc.stderr, err)]
    try:
        stopped = pump(proc, streams, start + timeout, stop.is_set if stop is not None else None)
        interrupted = stopped and stop is not None and stop.is_set()
        timed_out = stopped and not interrupted
        if not stopped:
            try:  # the streams closed; a command that closed them itself (`exec >&-`) may still be running
                code = proc.wait(max(0.0, start + timeout - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True
        if timed_out or interrupted:
            code = _kill_group(proc)
            pump(proc, streams, time.monotonic() + KILL_GRACE_S)  # what it printed before it was killed
    except BaseException:  # Ctrl-C in the agent: do not leave the command running, then go on stopping
        _kill_group(proc)
        raise
    finally:
        close(streams)
    return ShellRun(code, out.text(), err.text(), timed_out, time.monotonic() - start, interrupted)


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
