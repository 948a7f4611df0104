"""The command-line surface in-process: global options in either position, argument errors, `agent config`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.agent.conftest import Outcome

Run = Callable[..., Outcome]


def _config(run_cli: Run, args: list[str], cwd: Path) -> dict:
    outcome = run_cli([*args], cwd=cwd)
    assert outcome.code == 0, outcome.err
    return json.loads(outcome.out)["settings"]


def test_help_lists_commands_and_exit_codes(run_cli: Run, project: Path) -> None:
    outcome = run_cli(["--help"], cwd=project)
    assert outcome.code == 0
    for command in ("sessions", "show", "resume", "rm", "export", "config", "undo", "diff", "run", "fix"):
        assert f"  {command} " in outcome.out
    for line in (
        "0    success",
        "1    task not done",
        "2    usage or configuration",
        "3    backend",
        "130  interrupted",
    ):
        assert line in outcome.out
    assert "agent run --model M --yes" in outcome.out


def test_version(run_cli: Run, project: Path) -> None:
    outcome = run_cli(["--version"], cwd=project)
    assert outcome.code == 0 and outcome.out.startswith("kiri ")


def test_global_options_work_before_and_after_the_command(run_cli: Run, project: Path) -> None:
    before = _config(run_cli, ["--model", "m1", "--max-steps", "7", "config", "--json"], project)
    after = _config(run_cli, ["config", "--model", "m1", "--max-steps", "7", "--json"], project)
    assert before == after
    assert before["model"] == {"value": "m1", "source": "flag --model"}
    assert before["max_steps"]["value"] == 7


def test_the_value_after_the_command_name_wins(run_cli: Run, project: Path) -> None:
    settings = _config(
        run_cli, ["--model", "outer", "--backend", "local", "config", "--model", "inner", "--json"], project
    )
    assert settings["model"]["value"] == "inner"
    assert settings["backend"] == {"value": "local", "source": "flag --backend"}


def test_yes_and_cwd_flags_reach_the_settings(run_cli: Run, project: Path) -> None:
    (project / "sub").mkdir()
    settings = _config(run_cli, ["config", "-y", "-C", "sub", "--json"], project)
    assert settings["approval"] == {"value": "full-auto", "source": "flag --yes"}
    assert settings["workspace"]["value"] == str((project / "sub").resolve())
    assert settings["workspace_root"]["value"] == str(project.resolve())


def test_config_masks_the_api_key_everywhere(
    run_cli: Run, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-live-0123456789abcdefghij"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    table = run_cli(["config"], cwd=project)
    as_json = run_cli(["config", "--json"], cwd=project)
    assert key not in table.out + table.err + as_json.out
    assert "sk-...ghij" in table.out
    settings = json.loads(as_json.out)["settings"]
    assert settings["api_key"] == {"value": "sk-...ghij", "source": "env OPENAI_API_KEY"}
    assert settings["backend"]["value"] == "remote"


def test_config_shows_the_file_locations(run_cli: Run, project: Path, kiri_home: Path) -> None:
    outcome = run_cli(["config", "--path"], cwd=project)
    assert str(kiri_home / "config.toml") in outcome.out
    assert str(project.resolve() / ".kiri" / "config.toml") in outcome.out
    settings = _config(run_cli, ["config", "--json"], project)
    assert settings["db_url"]["value"] == f"sqlite:///{kiri_home / 'kiri.sqlite3'}"


def _assert_one_line_error(outcome: Outcome, code: int, *fragments: str) -> None:
    assert outcome.code == code, (outcome.out, outcome.err)
    assert outcome.err.startswith("error: ") and outcome.err.count("\n") == 1, outcome.err
    assert "Traceback" not in outcome.out + outcome.err
    for fragment in fragments:
        assert fragment in outcome.err


def test_unknown_option_is_one_line_with_a_help_hint(run_cli: Run, project: Path) -> None:
    outcome = run_cli(["sessions", "--bogus"], cwd=project)
    _assert_one_line_error(outcome, 2, "--bogus", "agent sessions --help")


def test_unknown_backend_flag_and_env(run_cli: Run, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _assert_one_line_error(run_cli(["--backend", "cloud", "config"], cwd=project), 2, "cloud")
    monkeypatch.setenv("KIRI_BACKEND", "cloud")
    _assert_one_line_error(run_cli(["config"], cwd=project), 2, "KIRI_BACKEND", "cloud")


def test_bad_config_toml_is_one_line_with_file_and_line(run_cli: Run, project: Path, kiri_home: Path) -> None:
    (kiri_home / "config.toml").write_text('model = "a"\nmodel = "b"\n')
    outcome = run_cli(["sessions"], cwd=project)
    _assert_one_line_error(outcome, 2, str(kiri_home / "config.toml"), "line 2")


def test_project_config_errors_name_the_project_file(run_cli: Run, project: Path) -> None:
    (project / ".kiri").mkdir()
    (project / ".kiri" / "config.toml").write_text("max_steps = -1\n")
    _assert_one_line_error(run_cli(["config"], cwd=project), 2, ".kiri/config.toml", "max_steps")


def test_bad_max_steps_and_missing_cwd(run_cli: Run, project: Path) -> None:
    _assert_one_line_error(run_cli(["run", "--max-steps", "ten", "x"], cwd=project), 2, "ten")
    _assert_one_line_error(run_cli(["run", "--max-steps", "0", "x"], cwd=project), 2, "max_steps")
    _assert_one_line_error(run_cli(["-C", "nowhere", "sessions"], cwd=project), 2, "no such directory")


def test_run_without_a_task_is_a_usage_error(run_cli: Run, project: Path) -> None:
    _assert_one_line_error(run_cli(["run"], cwd=project, stdin=""), 2, "no task on standard input")
    _assert_one_line_error(run_cli(["run", "   "], cwd=project), 2, "task is empty")
    _assert_one_line_error(run_cli(["fix", "-"], cwd=project, stdin="\n"), 2, "no description")


def test_fix_options_are_checked_before_anything_runs(run_cli: Run, project: Path) -> None:
    _assert_one_line_error(run_cli(["fix", "--candidates", "0"], cwd=project), 2, "--candidates")
    _assert_one_line_error(run_cli(["fix", "--time-limit", "-1"], cwd=project), 2, "--time-limit")


def test_resume_needs_exactly_one_of_id_and_last(run_cli: Run, project: Path) -> None:
    _assert_one_line_error(run_cli(["resume"], cwd=project), 2, "either a session ID or --last")
    _assert_one_line_error(
        run_cli(["resume", "abcd", "--last"], cwd=project), 2, "either a session ID or --last"
    )


def test_resume_last_without_sessions_says_so(run_cli: Run, project: Path) -> None:
    _assert_one_line_error(run_cli(["resume", "--last"], cwd=project), 2, "no sessions for", "--all")


def test_fix_without_a_description_and_nothing_on_stdin_just_runs(run_cli: Run, project: Path) -> None:
    # Scripts and CI call `agent fix` with no terminal and empty stdin: the description is simply absent.
    out = run_cli(
        ["fix", "--test-cmd", "true", "--backend", "remote", "--base-url", "http://127.0.0.1:9/v1"],
        cwd=project,
    )
    assert out.code == 0, out.err
    assert "Traceback" not in out.err
