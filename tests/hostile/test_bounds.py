"""Hostile cases: a repository's config cannot loosen what guards the user, a config file cannot hang or crash
kiri, and a chatty command or a huge or special file cannot take unbounded memory, disk or time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes.openai_server import call, text_reply, tool_reply
from tests.hostile.conftest import Hostile

BIG = 600 * 1024 * 1024  # sparse: costs no disk, but a tool that reads it whole takes this much memory


def _project_config(hostile: Hostile, text: str | bytes) -> Path:
    path = hostile.project / ".kiri" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _tool_results(hostile: Hostile) -> list[str]:
    """The tool messages kiri sent back to the model, in order."""
    last = hostile.server.requests[-1]["messages"]
    return [m["content"] for m in last if m["role"] == "tool"]


def _one_error_line(err: str, path: Path) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0], err


def test_a_project_cannot_loosen_the_users_ask(hostile: Hostile) -> None:
    (hostile.home / "config.toml").write_text('approval = "ask"\n')
    config = _project_config(hostile, 'approval = "auto-edit"\n')
    hostile.server.add(
        tool_reply(call("write_file", {"path": "planted.py", "content": "x = 1\n"})),
        tool_reply(call("run_shell", {"command": "touch marker"})),
        text_reply("done"),
    )
    run = hostile.agent("run", "do it")
    assert run.clean
    assert not (hostile.project / "planted.py").exists()
    assert not (hostile.project / "marker").exists()
    assert f"warning: ignored approval = 'auto-edit' from {config}" in run.err
    shown = hostile.agent("config", "--json")
    approval = json.loads(shown.out)["settings"]["approval"]
    assert approval["value"] == "ask" and "project's 'auto-edit' ignored" in approval["source"]


def test_a_project_can_tighten_the_no_terminal_default(hostile: Hostile) -> None:
    # Without a terminal the default is auto-edit; a repository asking for "ask" must get it.
    _project_config(hostile, 'approval = "ask"\n')
    hostile.server.add(
        tool_reply(call("write_file", {"path": "planted.py", "content": "x = 1\n"})), text_reply("done")
    )
    run = hostile.agent("run", "do it")
    assert run.clean and "warning" not in run.err
    assert not (hostile.project / "planted.py").exists()


def test_a_project_cannot_raise_max_steps(hostile: Hostile) -> None:
    (hostile.home / "config.toml").write_text("max_steps = 2\n")
    config = _project_config(hostile, "max_steps = 1000\n")
    hostile.server.add(*[tool_reply(call("run_shell", {"command": f"echo {i} >> steps"})) for i in range(5)])
    run = hostile.agent("run", "--yes", "loop")
    assert run.clean
    assert (hostile.project / "steps").read_text().split() == ["0", "1"]
    assert f"ignored max_steps = 1000 from {config}" in run.err


@pytest.mark.parametrize("where", ["user", "project"])
def test_a_non_utf8_config_is_one_error_line(hostile: Hostile, where: str) -> None:
    bad = b'model = "caf\xe9"\n'
    path = hostile.home / "config.toml" if where == "user" else _project_config(hostile, bad)
    path.write_bytes(bad)
    for args in (("config",), ("run", "hello")):
        run = hostile.agent(*args, timeout=30)
        assert run.code == 2 and run.clean
        _one_error_line(run.err, path)
        assert "byte 0xe9 at offset 12, line 1" in run.err


@pytest.mark.parametrize("where", ["user", "project"])
def test_a_fifo_at_the_config_path_does_not_hang(hostile: Hostile, where: str) -> None:
    path = hostile.home / "config.toml" if where == "user" else hostile.project / ".kiri" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    os.mkfifo(path)
    run = hostile.agent("config", timeout=20)  # raises TimeoutExpired if kiri blocks opening the FIFO
    assert run.code == 2 and run.clean
    _one_error_line(run.err, path)
    assert "not a regular file" in run.err


def test_a_directory_at_the_config_path_is_one_error_line(hostile: Hostile) -> None:
    path = hostile.project / ".kiri" / "config.toml"
    path.mkdir(parents=True)
    run = hostile.agent("config", timeout=20)
    assert run.code == 2 and run.clean
    _one_error_line(run.err, path)


def _peak_spill(hostile: Hostile, command: str, tmpdir: Path) -> tuple[int, subprocess.CompletedProcess[str]]:
    """Run one run_shell through the agent; the largest size seen of any file kiri holds open in `tmpdir`."""
    hostile.server.add(tool_reply(call("run_shell", {"command": command})), text_reply("done"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--yes", "go"],
        cwd=hostile.project,
        env=hostile.env(TMPDIR=str(tmpdir)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        fd_dir = Path(f"/proc/{proc.pid}/fd")
        try:
            names = os.listdir(fd_dir)
        except (FileNotFoundError, ProcessLookupError):
            break
        for name in names:
            try:  # an fd may close between the listing and the look
                if os.readlink(fd_dir / name).startswith(str(tmpdir)):
                    peak = max(peak, os.stat(fd_dir / name).st_size)
            except FileNotFoundError:
                pass
        time.sleep(0.02)
    out, err = proc.communicate(timeout=60)
    return peak, subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_a_chatty_command_does_not_fill_the_disk(hostile: Hostile) -> None:
    tmpdir = hostile.tmp / "spill"
    tmpdir.mkdir()
    # 100 MB of output, then the command stays alive for a while: any spill file is at its largest then.
    peak, done = _peak_spill(hostile, "head -c 100000000 /dev/zero | tr '\\0' y; sleep 2", tmpdir)
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert peak <= 2 * 1024 * 1024, f"{peak} bytes of command output spilled to disk"
    result = _tool_results(hostile)[0]
    assert "bytes of output cut from the middle" in result and result.startswith("exit code: 0")


def _peak_rss_of(hostile: Hostile, *args: str) -> tuple[int, str]:
    """Run the agent in a fresh child and return (its peak RSS in bytes, stderr)."""
    script = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run([sys.executable, '-m', 'agent', *sys.argv[1:]], capture_output=True, text=True)\n"
        "sys.stderr.write(p.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=hostile.project,
        env=hostile.env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return int(proc.stdout.split()[-1]) * 1024, proc.stderr


@pytest.mark.parametrize(
    "tool",
    [
        call("edit_file", {"path": "huge.txt", "old": "a", "new": "b"}),
        call("write_file", {"path": "huge.txt", "content": "small\n"}),
    ],
    ids=["edit_file", "write_file"],
)
def test_editing_a_huge_file_is_refused_in_bounded_memory(
    hostile: Hostile, tool: tuple[str, str, str]
) -> None:
    huge = hostile.project / "huge.txt"
    with huge.open("wb") as f:
        f.truncate(BIG)
    hostile.server.add(tool_reply(tool), text_reply("done"))
    peak, err = _peak_rss_of(hostile, "run", "--yes", "edit it")
    assert "Traceback" not in err
    assert peak < 300 * 1024 * 1024, f"peak RSS {peak >> 20} MiB"
    assert huge.stat().st_size == BIG
    result = _tool_results(hostile)[0]
    assert "too large" in result and "run_shell" in result


def test_search_on_a_fifo_returns_at_once(hostile: Hostile) -> None:
    os.mkfifo(hostile.project / "pipe")
    hostile.server.add(tool_reply(call("search", {"pattern": "x", "path": "pipe"})), text_reply("done"))
    start = time.monotonic()
    run = hostile.agent("run", "--yes", "search", timeout=30)  # TimeoutExpired if ripgrep blocks on it
    assert run.clean and run.code == 0
    assert time.monotonic() - start < 30
    assert "not a regular file" in _tool_results(hostile)[0]


def test_a_fifo_or_huge_agents_md_neither_hangs_nor_fills_memory(hostile: Hostile) -> None:
    os.mkfifo(hostile.project / "AGENTS.md")
    hostile.server.add(text_reply("done"))
    run = hostile.agent("run", "hello", timeout=30)  # TimeoutExpired if kiri blocks opening the FIFO
    assert run.clean and run.code == 0
    (hostile.project / "AGENTS.md").unlink()
    with (hostile.project / "AGENTS.md").open("wb") as f:
        f.write(b"Be brief.\n")
        f.truncate(BIG)
    hostile.server.add(text_reply("done"))
    peak, err = _peak_rss_of(hostile, "run", "hello")
    assert "Traceback" not in err
    assert peak < 300 * 1024 * 1024, f"peak RSS {peak >> 20} MiB"
    assert "Be brief." in json.dumps(hostile.server.requests[-1]["messages"])
