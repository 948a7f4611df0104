"""Secrets stay out: kiri's API key (and the user's configured secret variables) never reach a child process,
the database, an export, `agent show --full`, the terminal or a request to the model, whatever the repository
or the model does (threat model, item 4; issues 12.4 and 20.1).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.fakes.openai_server import call, text_reply, tool_reply
from tests.hostile.conftest import SECRET, Hostile, Run

# A second secret, for the user's own configured variable and for a file outside the workspace.
OTHER = "tok-kiri-hostile-OTHER-77aa55ee33cc11ff"


def _session(run: Run) -> str:
    return json.loads(run.out)["session_id"]


def _records(hostile: Hostile, session_id: str) -> str:
    """Everything kiri shows of a stored session: show --full, export md and json."""
    shown = [
        hostile.agent("show", "--full", session_id),
        hostile.agent("export", session_id),
        hostile.agent("export", "-f", "json", session_id),
    ]
    assert all(r.code == 0 and r.clean for r in shown), [r.err for r in shown]
    return "\n".join(r.out + r.err for r in shown)


def _tool_results(hostile: Hostile) -> list[str]:
    """The tool results the model was sent (last request holds the whole history)."""
    messages = hostile.server.requests[-1]["messages"]
    return [m["content"] for m in messages if m["role"] == "tool"]


def _assert_kept_out(hostile: Hostile, run: Run, secret: str = SECRET, *, records: bool = True) -> None:
    assert run.clean, run.err
    assert secret not in run.out and secret not in run.err, "shown on the terminal"
    assert not hostile.sent(secret), "sent to the model"
    assert hostile.leaks(secret) == [], "stored under KIRI_HOME"
    if records:
        assert secret not in _records(hostile, _session(run)), "in show --full or an export"


def _shell(hostile: Hostile, command: str, **env: str) -> Run:
    hostile.server.add(tool_reply(call("run_shell", {"command": command})), text_reply("done"))
    return hostile.agent("run", "--yes", "--json", "look around", **env)


# -- child processes do not inherit the key ------------------------------------------------------------------


def test_env_through_run_shell_keeps_the_key_out(hostile: Hostile) -> None:
    run = _shell(hostile, "env")
    assert run.code == 0
    (result,) = _tool_results(hostile)
    assert "PATH=" in result  # the command ran and its output was the model's
    assert "OPENAI_API_KEY" not in result
    _assert_kept_out(hostile, run)


def test_printenv_of_the_key_variable_finds_nothing(hostile: Hostile) -> None:
    run = _shell(hostile, "printenv OPENAI_API_KEY")
    (result,) = _tool_results(hostile)
    assert result.startswith("exit code: 1")  # not set in the child at all
    _assert_kept_out(hostile, run, records=False)


def test_the_childs_own_proc_environ_has_no_key(hostile: Hostile) -> None:
    run = _shell(hostile, "cat /proc/self/environ | tr '\\0' '\\n'")  # self: cat, a child of the child
    (result,) = _tool_results(hostile)
    assert "PATH=" in result and "API_KEY" not in result
    _assert_kept_out(hostile, run, records=False)


def test_kiri_api_key_variable_is_kept_out_too(hostile: Hostile) -> None:
    # KIRI_API_KEY wins over OPENAI_API_KEY; both are kiri's credentials and neither reaches the child.
    run = _shell(hostile, "env", KIRI_API_KEY=SECRET, OPENAI_API_KEY=OTHER)
    (result,) = _tool_results(hostile)
    assert "KIRI_API_KEY" not in result and "OPENAI_API_KEY" not in result
    _assert_kept_out(hostile, run, records=False)
    _assert_kept_out(hostile, run, OTHER, records=False)


def test_a_configured_secret_variable_is_kept_out(hostile: Hostile) -> None:
    (hostile.home / "config.toml").write_text('secret_env = ["DEPLOY_TOKEN"]\n')
    run = _shell(hostile, "env; echo token=$DEPLOY_TOKEN", DEPLOY_TOKEN=OTHER)
    (result,) = _tool_results(hostile)
    assert "DEPLOY_TOKEN=" not in result and "token=\n" in result + "\n"
    _assert_kept_out(hostile, run, OTHER, records=False)


def test_the_test_command_of_agent_fix_gets_no_key(hostile: Hostile) -> None:
    hostile.server.add(text_reply("I cannot fix that."))
    cmd = "printenv OPENAI_API_KEY KIRI_API_KEY; echo the key is ${OPENAI_API_KEY:-absent}; exit 1"
    run = hostile.agent("fix", "--yes", "--json", "--test-cmd", cmd, KIRI_API_KEY=SECRET)
    assert run.code == 1  # not fixed: the command still fails
    assert "the key is absent" in run.err  # the failing output is shown, without the key in it
    _assert_kept_out(hostile, run, records=False)


# -- what the model or the repository feeds back is redacted -------------------------------------------------


def test_a_file_holding_the_key_is_redacted_before_it_is_sent(hostile: Hostile) -> None:
    (hostile.project / ".env").write_text(f"OPENAI_API_KEY={SECRET}\n")
    hostile.server.add(tool_reply(call("read_file", {"path": ".env"})), text_reply("done"))
    run = hostile.agent("run", "--yes", "--json", "read .env")
    (result,) = _tool_results(hostile)
    assert "OPENAI_API_KEY=[redacted]" in result
    _assert_kept_out(hostile, run, records=False)


def test_a_reply_echoing_the_key_is_redacted(hostile: Hostile) -> None:
    # split=3: the key arrives across many deltas, so the terminal must not show its pieces either
    hostile.server.add(text_reply(f"Your key is {SECRET}, keep it safe.", split=3))
    run = hostile.agent("run", "--json", "what is my key?")
    assert run.code == 0
    assert json.loads(run.out)["answer"] == "Your key is [redacted], keep it safe."
    _assert_kept_out(hostile, run)


def test_a_tool_argument_holding_the_key_is_redacted(hostile: Hostile) -> None:
    hostile.server.add(
        tool_reply(
            call("run_shell", {"command": f"echo {SECRET} > key.txt"}),
            call("write_file", {"path": "notes.txt", "content": f"key = {SECRET}\n"}),
        ),
        text_reply("done"),
    )
    run = hostile.agent("run", "--yes", "--json", "save my key")
    assert run.code == 0
    # What ran is what was recorded: the redacted arguments, so the key is written nowhere.
    assert SECRET not in (hostile.project / "key.txt").read_text()
    assert SECRET not in (hostile.project / "notes.txt").read_text()
    _assert_kept_out(hostile, run)


# -- AGENTS.md cannot pull in a file from outside the workspace ----------------------------------------------


def test_agents_md_symlink_to_proc_environ_is_skipped(hostile: Hostile) -> None:
    (hostile.project / "AGENTS.md").symlink_to("/proc/self/environ")
    hostile.server.add(text_reply("done"))
    run = hostile.agent("run", "--json", "hello")
    assert run.code == 0
    assert "AGENTS.md" in run.err and "outside the workspace" in run.err  # one line saying why
    assert "KIRI_HOME=" not in hostile.server.requests[0]["messages"][0]["content"]
    _assert_kept_out(hostile, run)


def test_agents_md_symlink_in_a_subfolder_is_skipped(hostile: Hostile) -> None:
    sub = hostile.project / "pkg"
    sub.mkdir()
    (sub / "AGENTS.md").symlink_to("/proc/self/environ")
    hostile.server.add(text_reply("done"))
    run = hostile.agent("run", "--json", "hello", cwd=sub)
    assert run.code == 0
    assert "outside the workspace" in run.err
    assert "KIRI_HOME=" not in hostile.server.requests[0]["messages"][0]["content"]
    _assert_kept_out(hostile, run, records=False)


def test_agents_md_symlink_to_a_file_outside_is_skipped(hostile: Hostile) -> None:
    outside = hostile.tmp / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"password: {OTHER}\n")
    (hostile.project / "AGENTS.md").symlink_to(Path("..") / "outside" / "secret.txt")
    hostile.server.add(text_reply("done"))
    run = hostile.agent("run", "--json", "hello")
    assert run.code == 0
    _assert_kept_out(hostile, run, OTHER, records=False)


def test_agents_md_fifo_does_not_hang(hostile: Hostile) -> None:
    os.mkfifo(hostile.project / "AGENTS.md")
    hostile.server.add(text_reply("done"))
    run = hostile.agent("run", "--json", "hello", timeout=60)  # TimeoutExpired here would be the hang
    assert run.code == 0 and run.clean, run.err
    assert "AGENTS.md" in run.err and "not a regular file" in run.err


def test_agents_md_inside_the_workspace_still_works(hostile: Hostile) -> None:
    # The confinement must not lose the ordinary case: a symlink that stays inside is followed.
    (hostile.project / "docs").mkdir()
    (hostile.project / "docs" / "agents.md").write_text("Always run the tests with -q.\n")
    (hostile.project / "AGENTS.md").symlink_to(Path("docs") / "agents.md")
    hostile.server.add(text_reply("done"))
    run = hostile.agent("run", "--json", "hello")
    assert run.code == 0 and run.clean
    assert "Always run the tests with -q." in hostile.server.requests[0]["messages"][0]["content"]
    assert "skipped" not in run.err
