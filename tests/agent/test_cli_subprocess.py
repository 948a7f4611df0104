"""The installed ``agent`` command in real subprocesses: lazy imports, exit codes, stderr, Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.agent.conftest import Seeded

AGENT = shutil.which("agent")
pytestmark = pytest.mark.skipif(
    AGENT is None, reason="the `agent` console script is not installed (pip install -e .)"
)


def _imported_modules(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the real console script under ``-X importtime``: stderr then lists every module it imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", AGENT or "agent", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    modules = {
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    return proc, modules


@pytest.mark.parametrize("args", [["--help"], ["sessions"], ["config"]])
def test_light_commands_do_not_import_torch_or_openai(args: list[str], seeded: Seeded) -> None:
    proc, modules = _imported_modules(["--db", seeded.url, *args], seeded.project)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "click" in modules, "the import trace was not captured"
    heavy = {m for m in modules if m.split(".")[0] in ("torch", "openai")}
    assert not heavy, f"`agent {' '.join(args)}` imported {sorted(heavy)[:5]}"
    if args == ["sessions"]:
        assert seeded.first[:8] in proc.stdout


def test_sessions_json_from_the_real_command(seeded: Seeded) -> None:
    env = {**os.environ, "KIRI_DB": seeded.url}
    proc = subprocess.run(
        [AGENT or "agent", "sessions", "--all", "--json"],
        cwd=seeded.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert {s["id"] for s in json.loads(proc.stdout)} == {seeded.first, seeded.second, seeded.elsewhere}


def test_user_error_is_one_line_on_stderr_with_exit_2(seeded: Seeded) -> None:
    proc = subprocess.run(
        [AGENT or "agent", "show", "0000dead", "--db", seeded.url],
        cwd=seeded.project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: no session with id '0000dead'") and proc.stderr.count("\n") == 1


def test_kiri_alias_and_python_dash_m(project: Path) -> None:
    for command in (["kiri", "--version"], [sys.executable, "-m", "agent", "--version"]):
        proc = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and proc.stdout.startswith("kiri "), (command, proc.stderr)


def test_ctrl_c_exits_130_without_a_traceback(project: Path) -> None:
    # `agent run -` waits for the task on stdin; a pipe that stays open keeps it waiting until SIGINT.
    proc = subprocess.Popen(
        [AGENT or "agent", "run", "-"],
        cwd=project,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)  # let the interpreter start and block in the read
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


def test_broken_pipe_is_quiet(seeded: Seeded) -> None:
    # `agent export ... | head -0`: the reader is gone before anything is written.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [AGENT or "agent", "--db", seeded.url, "export", seeded.first, "--format", "json"],
            cwd=seeded.project, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""
