"""run_shell: real subprocesses in the workspace; timeouts kill the whole process group."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.procs import dies
from tools import ToolResult
from tools.shell import run_command

Call = Callable[..., ToolResult]


def test_exit_code_stdout_and_stderr(call: Call) -> None:
    content = call("run_shell", command="echo out; echo err >&2; exit 4").content
    assert content == "exit code: 4\nstdout:\nout\nstderr:\nerr"


def test_runs_in_the_workspace_without_stdin(call: Call, workspace: Path) -> None:
    (workspace / "marker").write_text("")
    content = call("run_shell", command="pwd; ls; cat").content
    assert str(workspace.resolve()) in content and "marker" in content and "exit code: 0" in content


def test_no_output_is_said(call: Call) -> None:
    assert call("run_shell", command="true").content == "exit code: 0\n(no output)"


def test_timeout_kills_the_process_group(call: Call, workspace: Path) -> None:
    # a grandchild that ignores SIGTERM must still die with the group
    command = "(trap '' TERM; sleep 60) & echo $! > child.pid; sleep 60"
    content = call("run_shell", command=command, timeout=1).content
    assert "timed out after 1s" in content
    pid = int((workspace / "child.pid").read_text())
    assert dies(pid), f"child {pid} survived the timeout"


def test_long_output_keeps_head_and_tail(workspace: Path) -> None:
    run = run_command("seq 1 100000", workspace, 30, stream_bytes=2000)
    assert run.stdout.startswith("1\n2\n3\n") and run.stdout.rstrip().endswith("99999\n100000")
    assert "bytes of output cut from the middle" in run.stdout
    assert len(run.stdout) < 2200


def test_cd_out_is_allowed_for_the_shell(call: Call, workspace: Path) -> None:
    content = call("run_shell", command="cd .. && pwd").content
    assert str(workspace.resolve().parent) in content


def test_bad_arguments(call: Call) -> None:
    assert "empty command" in call("run_shell", command="  ").content
    assert "timeout must be" in call("run_shell", command="true", timeout=0).content


def test_output_is_kept_in_memory_and_bounded(workspace: Path, tmp_path: Path, monkeypatch) -> None:
    # 50 MB through each stream: head and tail come back, and nothing is written under TMPDIR meanwhile.
    spill = tmp_path / "spill"
    spill.mkdir()
    monkeypatch.setenv("TMPDIR", str(spill))
    command = "head -c 50000000 /dev/zero | tr '\\0' o; head -c 50000000 /dev/zero | tr '\\0' e >&2"
    run = run_command(command, workspace, 60, stream_bytes=1000)
    assert run.exit_code == 0 and not run.timed_out
    for text, ch in ((run.stdout, "o"), (run.stderr, "e")):
        assert text.startswith(ch * 500) and text.endswith(ch * 500)
        assert "[... 49999000 bytes of output cut from the middle ...]" in text
    assert not any(spill.iterdir())


def test_a_background_writer_does_not_hold_the_command_open(workspace: Path) -> None:
    # The command returns; its background child keeps the pipe open and writing. kiri stops reading shortly
    # after and closes its end (the writer gets EPIPE) instead of waiting for the timeout.
    start = time.monotonic()
    run = run_command("(sleep 0.3; yes) & echo started", workspace, 30)
    assert run.exit_code == 0 and not run.timed_out and run.stdout.startswith("started")
    assert time.monotonic() - start < 10


def test_a_command_that_closes_its_output_still_times_out(workspace: Path) -> None:
    run = run_command("exec >&- 2>&-; sleep 30", workspace, 1)
    assert run.timed_out and run.duration_s < 10


def test_a_stop_request_kills_the_running_group_and_says_so(workspace: Path) -> None:
    pid_file = workspace / "pids"
    stop = threading.Event()

    def stop_once_started() -> None:  # synchronised on the file the command writes, not on a sleep
        deadline = time.monotonic() + 30
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()

    threading.Thread(target=stop_once_started, daemon=True).start()
    command = f"sleep 300 & echo $$ $! > {pid_file}.tmp && mv {pid_file}.tmp {pid_file}; wait"
    run = run_command(command, workspace, timeout=120, stop=stop)
    assert run.interrupted and not run.timed_out
    assert run.duration_s < 60
    for pid in map(int, pid_file.read_text().split()):
        assert dies(pid), f"process {pid} survived the stop request"
