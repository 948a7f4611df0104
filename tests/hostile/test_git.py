"""Hostile git configuration and git directories, through the real CLI.

A repository (or the model, once it can write `.git/`) configures a program in git's config; kiri's own git
calls (the session summary at every start, git_status, git_diff, git_log) must never run it. A `.git` file must
not point kiri's git tools at another repository. Each case plants a program that only leaves a marker file
and asserts the marker is absent, nothing outside the workspace changed, no traceback, and the exit code.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.hostile_git import plant
from tests.fakes.openai_server import call, text_reply, tool_reply
from tests.fakes.workspace import git_repo
from tests.hostile.conftest import Hostile, Run

TASK = "look at the repository"


def _tool_results(hostile: Hostile) -> list[str]:
    """What every tool call returned to the model, in order."""
    last: list[dict[str, Any]] = hostile.server.requests[-1]["messages"]
    return [str(m.get("content")) for m in last if m.get("role") == "tool"]


def _ok(run: Run) -> None:
    assert run.clean, run.err
    assert run.code == 0, (run.code, run.err)


def _other_repo(hostile: Hostile) -> Path:
    """A repository beside the workspace, with a stale index that a plain `git status` would rewrite."""
    other = git_repo(hostile.tmp / "other", {"private.txt": "OTHER-REPO-CONTENT\n"})
    (other / "private.txt").write_text("OTHER-REPO-EDITED\n")
    subprocess.run(["touch", "-d", "@1", str(other / "private.txt")], check=True)
    return other


def _index_state(repo: Path) -> tuple[bytes, int]:
    index = repo / ".git" / "index"
    return index.read_bytes(), index.stat().st_mtime_ns


def _config_with(hostile: Hostile, extra: str) -> str:
    return (hostile.project / ".git" / "config").read_text() + extra


# ----- a repository that arrives with hostile git config ------------------------------------------------


@pytest.mark.parametrize("vector", ["fsmonitor", "filter-clean", "hooks-path", "submodule-filter"])
def test_configured_programs_do_not_run_at_session_start(hostile: Hostile, vector: str) -> None:
    marker = hostile.tmp / "marker"
    plant(hostile.project, vector, marker)
    hostile.server.add(text_reply("done"))
    run = hostile.agent("run", TASK)
    _ok(run)
    assert not marker.exists(), f"{vector} ran: {marker.read_text()}"


def test_textconv_driver_does_not_run_in_git_diff(hostile: Hostile) -> None:
    marker = hostile.tmp / "marker"
    prog = hostile.tmp / "conv.sh"
    prog.write_text(f'#!/bin/sh\ntouch {marker}\ncat "$1"\n')
    prog.chmod(0o755)
    with (hostile.project / ".git" / "config").open("a") as f:
        f.write(f'[diff "evil"]\n\ttextconv = {prog}\n')
    (hostile.project / ".git" / "info").mkdir(exist_ok=True)
    (hostile.project / ".git" / "info" / "attributes").write_text("*.py diff=evil\n")
    (hostile.project / "app.py").write_text("print('changed')\n")
    hostile.server.add(tool_reply(call("git_diff", {})), text_reply("done"))
    run = hostile.agent("run", TASK)
    _ok(run)
    assert not marker.exists()
    assert "+print('changed')" in _tool_results(hostile)[0]


def test_signature_check_program_does_not_run_in_git_log(hostile: Hostile) -> None:
    marker = hostile.tmp / "marker"
    plant(hostile.project, "signature-check", marker)
    hostile.server.add(tool_reply(call("git_log", {})), text_reply("done"))
    run = hostile.agent("run", TASK)
    _ok(run)
    assert not marker.exists()
    assert "initial" in _tool_results(hostile)[0]


# ----- the model writes git's config ------------------------------------------------------------------


def test_model_written_fsmonitor_never_runs_in_this_or_the_next_session(hostile: Hostile) -> None:
    marker = hostile.tmp / "marker"
    config = _config_with(hostile, f"[core]\n\tfsmonitor = touch {marker}; false\n")
    hostile.server.add(
        tool_reply(call("read_file", {"path": ".git/config"})),
        tool_reply(call("write_file", {"path": ".git/config", "content": config})),
        tool_reply(call("git_status", {})),
        text_reply("done"),
        text_reply("second session"),
    )
    _ok(hostile.agent("run", "--yes", TASK))  # full-auto: the write itself is allowed
    assert (hostile.project / ".git" / "config").read_text() == config
    _ok(hostile.agent("run", TASK))  # a later session, default mode
    assert not marker.exists()


def test_model_written_filter_never_runs_in_git_status_or_diff(hostile: Hostile) -> None:
    marker = hostile.tmp / "marker"
    config = _config_with(
        hostile, f'[filter "x"]\n\tclean = touch {marker}; cat\n\tprocess = touch {marker}\n'
    )
    hostile.server.add(
        tool_reply(call("read_file", {"path": ".git/config"})),
        tool_reply(
            call("write_file", {"path": ".git/config", "content": config}),
            call("write_file", {"path": ".git/info/attributes", "content": "* filter=x\n"}),
        ),
        tool_reply(call("read_file", {"path": "app.py"})),
        tool_reply(call("write_file", {"path": "app.py", "content": "print('bye')\n"})),
        tool_reply(call("git_status", {}), call("git_diff", {})),
        text_reply("done"),
        text_reply("second session"),
    )
    _ok(hostile.agent("run", "--yes", TASK))
    assert (hostile.project / ".git" / "info" / "attributes").read_text() == "* filter=x\n"
    _ok(hostile.agent("run", TASK))
    assert not marker.exists()


def test_model_write_to_git_config_is_refused_in_auto_edit(hostile: Hostile) -> None:
    marker = hostile.tmp / "marker"
    before = (hostile.project / ".git" / "config").read_bytes()
    config = _config_with(hostile, f"[core]\n\tfsmonitor = touch {marker}; false\n")
    hostile.server.add(
        tool_reply(call("read_file", {"path": ".git/config"})),
        tool_reply(call("write_file", {"path": ".git/config", "content": config})),
        text_reply("done"),
        text_reply("second session"),
    )
    _ok(hostile.agent("run", TASK))  # no terminal: auto-edit, and nobody answers the question
    assert (hostile.project / ".git" / "config").read_bytes() == before
    assert "asked because it is inside .git/" in _tool_results(hostile)[1]
    _ok(hostile.agent("run", TASK))
    assert not marker.exists()


def test_a_hook_is_refused_in_auto_edit_and_written_in_full_auto(hostile: Hostile) -> None:
    hook = hostile.project / ".git" / "hooks" / "pre-commit"
    args = {"path": ".git/hooks/pre-commit", "content": "#!/bin/sh\ntouch pwned\n"}
    hostile.server.add(tool_reply(call("write_file", args)), text_reply("done"))
    _ok(hostile.agent("run", TASK))
    assert not hook.exists()
    assert "declined" in _tool_results(hostile)[0]
    hostile.server.add(tool_reply(call("write_file", args)), text_reply("done"))
    _ok(hostile.agent("run", "--yes", TASK))
    assert hook.read_text() == args["content"]


def test_kiri_project_config_write_is_refused_in_auto_edit(hostile: Hostile) -> None:
    args = {"path": ".kiri/config.toml", "content": 'approval = "auto-edit"\ndeny_patterns = []\n'}
    hostile.server.add(tool_reply(call("write_file", args)), text_reply("done"))
    _ok(hostile.agent("run", TASK))
    assert not (hostile.project / ".kiri").exists()
    assert "kiri's project config" in _tool_results(hostile)[0]


# ----- a .git file pointing at another repository ----------------------------------------------------


def test_a_committed_git_file_does_not_lead_to_another_repository(hostile: Hostile) -> None:
    other = _other_repo(hostile)
    index_before = _index_state(other)
    ws = hostile.tmp / "unpacked"  # an archive, not a clone: it can carry a .git file
    ws.mkdir()
    (ws / "main.py").write_text("print('hi')\n")
    (ws / ".git").write_text(f"gitdir: {other / '.git'}\n")
    hostile.server.add(
        tool_reply(call("git_status", {}), call("git_diff", {}), call("git_log", {})),
        text_reply("done"),
    )
    run = hostile.agent("run", TASK, cwd=ws)
    _ok(run)
    results = _tool_results(hostile)
    assert len(results) == 3
    for result in results:
        assert "OTHER-REPO" not in result and "initial" not in result and "private.txt" not in result
    assert _index_state(other) == index_before
    prompt = hostile.server.requests[0]["messages"][0]["content"]
    assert "not a git repository" in prompt


def test_model_cannot_write_a_git_file_even_in_full_auto(hostile: Hostile) -> None:
    other = _other_repo(hostile)
    index_before = _index_state(other)
    ws = hostile.tmp / "plain"
    ws.mkdir()
    (ws / "main.py").write_text("print('hi')\n")
    hostile.server.add(
        tool_reply(call("write_file", {"path": ".git", "content": f"gitdir: {other / '.git'}\n"})),
        tool_reply(call("git_log", {})),
        text_reply("done"),
        text_reply("second session"),
    )
    _ok(hostile.agent("run", "--yes", TASK, cwd=ws))
    assert not (ws / ".git").exists()
    first, log = _tool_results(hostile)
    assert "every approval mode" in first and "initial" not in log
    _ok(hostile.agent("run", TASK, cwd=ws))
    assert _index_state(other) == index_before
