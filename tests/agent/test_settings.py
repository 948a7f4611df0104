"""Settings: the merge order over real files and environments, validation, and where each value came from."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from agent.errors import UsageError
from agent.settings import SPECS, Settings, load_settings, mask_secret, user_config_path


def _load(cwd: Path, flags: dict | None = None, env: dict | None = None, **kw) -> Settings:
    return load_settings(
        flags or {}, cwd=cwd, env=env or {}, stdin_tty=kw.get("tty", True), stdout_tty=kw.get("tty", True)
    )


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "src" / "pkg").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def test_defaults_without_any_source(home: Path, repo: Path) -> None:
    s = _load(repo, env={"KIRI_HOME": str(home)})
    assert (s.backend, s.model, s.approval, s.max_steps, s.db_url, s.api_key) == (
        "local",
        "kiri-coder",
        "ask",
        50,
        None,
        None,
    )
    assert s.workspace == s.workspace_root == repo.resolve()
    assert s.sources["max_steps"] == "default"
    assert s.context_window() == 128_000


def test_each_layer_overrides_the_one_before(home: Path, repo: Path) -> None:
    user = _write(
        user_config_path({"KIRI_HOME": str(home)}),
        'model = "from-user"\nmax_steps = 11\ntemperature = 0.5\nshell_timeout = 30\ntest_cmd = "make test"\n',
    )
    project = _write(
        repo / ".kiri" / "config.toml", 'model = "from-project"\nmax_steps = 12\ntemperature = 0.7\n'
    )
    env = {"KIRI_HOME": str(home), "KIRI_MODEL": "from-env", "KIRI_MAX_STEPS": "13"}
    s = _load(repo / "src" / "pkg", flags={"model": "from-flag"}, env=env)

    assert s.model == "from-flag" and s.sources["model"] == "flag --model"
    assert s.max_steps == 13 and s.sources["max_steps"] == "env KIRI_MAX_STEPS"
    assert s.temperature == 0.7 and s.sources["temperature"] == f"project config ({project})"
    assert s.shell_timeout == 30 and s.sources["shell_timeout"] == f"user config ({user})"
    assert s.test_cmd == "make test"
    # The project file is found from the git toplevel even when kiri runs in a subdirectory.
    assert s.workspace == (repo / "src" / "pkg").resolve() and s.workspace_root == repo.resolve()


def test_kiri_home_moves_the_user_config(tmp_path: Path) -> None:
    assert user_config_path({"KIRI_HOME": str(tmp_path)}) == tmp_path / "config.toml"
    assert user_config_path({}).name == "config.toml"
    assert "kiri" in str(user_config_path({}))


def test_api_key_or_base_url_selects_the_remote_backend(home: Path, repo: Path) -> None:
    s = _load(repo, env={"KIRI_HOME": str(home), "OPENAI_API_KEY": "sk-test-1234567890abcd"})
    assert (s.backend, s.model) == ("remote", "gpt-4o-mini")
    assert s.sources["api_key"] == "env OPENAI_API_KEY"
    s = _load(
        repo, env={"KIRI_HOME": str(home), "OPENAI_API_KEY": "sk-a" * 4, "KIRI_API_KEY": "kiri-key-000000"}
    )
    assert s.api_key == "kiri-key-000000", "KIRI_API_KEY wins over OPENAI_API_KEY"
    s = _load(repo, env={"KIRI_HOME": str(home)}, flags={"base_url": "http://localhost:11434/v1"})
    assert s.backend == "remote"
    assert "API key or base URL" in s.sources["backend"]
    s = _load(repo, env={"KIRI_HOME": str(home), "OPENAI_API_KEY": "x" * 20}, flags={"backend": "local"})
    assert (s.backend, s.model) == ("local", "kiri-coder")


def test_api_key_never_shown_in_full(home: Path, repo: Path) -> None:
    key = "sk-proj-abcdefghijklmnopqrstuvwxyz1234"
    s = _load(repo, env={"KIRI_HOME": str(home), "KIRI_API_KEY": key})
    shown = dict((k, v) for k, v, _ in s.public_items())["api_key"]
    assert shown == "sk-...1234" == mask_secret(key)
    assert key not in repr(s)
    assert mask_secret("short") == "****"


def test_approval_default_depends_on_a_terminal_and_yes_means_full_auto(home: Path, repo: Path) -> None:
    env = {"KIRI_HOME": str(home)}
    assert _load(repo, env=env, tty=True).approval == "ask"
    piped = _load(repo, env=env, tty=False)
    assert piped.approval == "auto-edit" and piped.color is False
    yes = _load(repo, env=env, flags={"yes": True}, tty=False)
    assert yes.approval == "full-auto" and yes.sources["approval"] == "flag --yes"
    with pytest.raises(UsageError, match="--yes conflicts with --approval ask"):
        _load(repo, env=env, flags={"yes": True, "approval": "ask"})


def test_no_color_env_turns_colour_off(home: Path, repo: Path) -> None:
    s = _load(repo, env={"KIRI_HOME": str(home), "NO_COLOR": "1"}, tty=True)
    assert s.color is False and s.sources["color"] == "env NO_COLOR"


def test_deny_patterns_add_up_across_sources(home: Path, repo: Path) -> None:
    _write(home / "config.toml", 'deny_patterns = ["rm -rf *"]\n')
    _write(repo / ".kiri" / "config.toml", 'deny_patterns = ["git push*", "rm -rf *"]\n')
    s = _load(repo, env={"KIRI_HOME": str(home), "KIRI_DENY": "curl *, sudo *"})
    assert s.deny_patterns == ("rm -rf *", "git push*", "curl *", "sudo *")
    assert s.sources["deny_patterns"].count("+") == 2


def test_db_paths_become_sqlite_urls_relative_to_where_they_were_written(
    home: Path, repo: Path, tmp_path: Path
) -> None:
    _write(home / "config.toml", 'db_url = "data/k.sqlite3"\n')
    s = _load(repo, env={"KIRI_HOME": str(home)})
    assert s.db_url == f"sqlite:///{(home / 'data' / 'k.sqlite3').resolve()}"
    s = _load(repo, env={"KIRI_HOME": str(home), "KIRI_DB": "here.db"})
    assert s.db_url == f"sqlite:///{(repo / 'here.db').resolve()}" and s.sources["db_url"] == "env KIRI_DB"
    s = _load(repo, env={"KIRI_HOME": str(home)}, flags={"db_url": "postgresql://u@h/db"})
    assert s.db_url == "postgresql://u@h/db"


def test_cwd_flag_is_relative_to_the_current_directory(home: Path, repo: Path) -> None:
    s = _load(repo.parent, env={"KIRI_HOME": str(home)}, flags={"cwd": "repo/src"})
    assert s.workspace == (repo / "src").resolve() and s.workspace_root == repo.resolve()
    with pytest.raises(UsageError, match="no such directory"):
        _load(repo, env={"KIRI_HOME": str(home)}, flags={"cwd": "missing"})


def test_outside_git_the_workspace_is_its_own_root(home: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    s = _load(plain, env={"KIRI_HOME": str(home)})
    if (tmp_path / ".git").exists() or any((p / ".git").exists() for p in tmp_path.parents):
        pytest.fail("the temporary directory is inside a git repository; the test cannot tell roots apart")
    assert s.workspace_root == plain.resolve()


def test_context_window_from_the_model_table(home: Path, repo: Path) -> None:
    env = {"KIRI_HOME": str(home)}
    assert _load(repo, env=env, flags={"model": "gpt-4.1-2025-04-14"}).context_window() == 1_047_576
    assert _load(repo, env=env, flags={"model": "o3"}).context_window() == 200_000
    assert _load(repo, env={**env, "KIRI_CONTEXT_LIMIT": "8192"}).context_window() == 8192


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"KIRI_BACKEND": "cloud"},
            "environment variable KIRI_BACKEND: invalid value 'cloud' for backend: expected one of remote, local",
        ),
        ({"KIRI_MAX_STEPS": "ten"}, "KIRI_MAX_STEPS: invalid value 'ten' for max_steps: expected an integer"),
        ({"KIRI_MAX_STEPS": "0"}, "must be at least 1"),
        ({"KIRI_APPROVAL": "sometimes"}, "expected one of ask, auto-edit, full-auto"),
        ({"KIRI_TEMPERATURE": "hot"}, "expected a number"),
        ({"KIRI_TIME_LIMIT": "-3"}, "must be greater than 0"),
        ({"KIRI_LOCAL_COMPILE": "yes"}, "expected one of off, default, reduce-overhead, max-autotune"),
    ],
)
def test_bad_environment_values_are_usage_errors(home: Path, repo: Path, env: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        _load(repo, env={"KIRI_HOME": str(home), **env})
    assert info.value.exit_code == 2 and "\n" not in str(info.value)


def test_bad_toml_names_the_file_and_line(home: Path, repo: Path) -> None:
    path = _write(home / "config.toml", 'model = "ok"\nmax_steps = \n')
    with pytest.raises(UsageError) as info:
        _load(repo, env={"KIRI_HOME": str(home)})
    assert str(info.value).startswith(f"{path}: invalid TOML:") and "line 2" in str(info.value)


def test_config_file_values_are_checked(home: Path, repo: Path) -> None:
    path = _write(home / "config.toml", 'max_steps = "many"\n')
    with pytest.raises(UsageError, match=f"{path}: invalid value 'many' for max_steps"):
        _load(repo, env={"KIRI_HOME": str(home)})
    _write(home / "config.toml", 'modle = "x"\n')
    with pytest.raises(UsageError, match="unknown setting 'modle' \\(did you mean 'model'\\?\\)"):
        _load(repo, env={"KIRI_HOME": str(home)})


def test_a_project_cannot_carry_keys_or_grant_full_auto(home: Path, repo: Path) -> None:
    _write(repo / ".kiri" / "config.toml", 'api_key = "sk-stolen-0000000000"\n')
    with pytest.raises(UsageError, match="api_key may not be set in a project config"):
        _load(repo, env={"KIRI_HOME": str(home)})
    # Nor send the user's key to a server, or the user's sessions to a database, of its choosing.
    for line in ('base_url = "http://evil.example/v1"', 'db_url = "sqlite:////tmp/elsewhere.db"'):
        _write(repo / ".kiri" / "config.toml", line + "\n")
        with pytest.raises(UsageError, match=f"{line.split()[0]} may not be set in a project config"):
            _load(repo, env={"KIRI_HOME": str(home)})
    _write(repo / ".kiri" / "config.toml", 'approval = "full-auto"\n')
    with pytest.raises(UsageError, match="full-auto"):
        _load(repo, env={"KIRI_HOME": str(home)})
    _write(home / "config.toml", 'approval = "full-auto"\napi_key = "sk-mine-000000000000"\n')
    _write(repo / ".kiri" / "config.toml", 'approval = "auto-edit"\n')
    s = _load(repo, env={"KIRI_HOME": str(home)})
    assert (s.approval, s.api_key) == ("auto-edit", "sk-mine-000000000000")


def test_empty_env_value_unsets_an_inherited_base_url(home: Path, repo: Path) -> None:
    _write(home / "config.toml", 'base_url = "http://localhost:8000/v1"\n')
    s = _load(repo, env={"KIRI_HOME": str(home), "KIRI_BASE_URL": ""})
    assert s.base_url is None and s.backend == "local"


def test_bad_deny_regex_is_a_configuration_error(home: Path, repo: Path) -> None:
    path = _write(home / "config.toml", 'deny_patterns = ["re:(unclosed"]\n')
    with pytest.raises(UsageError, match=f"invalid deny pattern 're:\\(unclosed'.*user config \\({path}\\)"):
        _load(repo, env={"KIRI_HOME": str(home)})


def test_local_compile_accepts_exactly_the_engines_modes() -> None:
    from local_model.compiled import COMPILE_MODES

    parse = SPECS["local_compile"].parse
    assert [parse(m) for m in ("off", *COMPILE_MODES)] == ["off", *COMPILE_MODES]
    with pytest.raises(ValueError):
        parse("inductor")


def test_secret_env_adds_up_from_the_user_config_and_the_environment(home: Path, repo: Path) -> None:
    _write(home / "config.toml", 'secret_env = ["DEPLOY_TOKEN"]\napi_key = "sk-from-the-config-file"\n')
    env = {"KIRI_HOME": str(home), "KIRI_SECRET_ENV": "AWS_SECRET_ACCESS_KEY, DEPLOY_TOKEN"}
    s = _load(repo, env=env)
    assert s.secret_env == ("DEPLOY_TOKEN", "AWS_SECRET_ACCESS_KEY")
    assert "env KIRI_SECRET_ENV" in s.sources["secret_env"]
    secrets = s.secrets(
        {"DEPLOY_TOKEN": "deploy-token-value", "OPENAI_API_KEY": "sk-env-value-123", "X": "1"}
    )
    assert secrets.names >= {"DEPLOY_TOKEN", "AWS_SECRET_ACCESS_KEY", "OPENAI_API_KEY", "KIRI_API_KEY"}
    assert set(secrets.values) == {"deploy-token-value", "sk-env-value-123", "sk-from-the-config-file"}


def test_secret_env_is_the_users_alone_and_must_name_variables(home: Path, repo: Path) -> None:
    # Redaction changes what the user is shown: a repository must not pick what is hidden from them.
    _write(repo / ".kiri" / "config.toml", 'secret_env = ["HOME"]\n')
    with pytest.raises(UsageError, match="secret_env may not be set in a project config"):
        _load(repo, env={"KIRI_HOME": str(home)})
    (repo / ".kiri" / "config.toml").unlink()
    with pytest.raises(UsageError, match="KIRI_SECRET_ENV.*'MY-TOKEN' is not an environment variable name"):
        _load(repo, env={"KIRI_HOME": str(home), "KIRI_SECRET_ENV": "MY-TOKEN"})


def test_the_api_key_variables_are_the_ones_children_never_get() -> None:
    from tools.secrets import CREDENTIAL_VARS

    assert SPECS["api_key"].env == CREDENTIAL_VARS


def test_a_project_may_only_tighten_what_guards_the_user(home: Path, repo: Path) -> None:
    user = _write(home / "config.toml", 'approval = "ask"\nmax_steps = 20\ntime_limit = 60\n')
    project = _write(
        repo / ".kiri" / "config.toml",
        'approval = "auto-edit"\nmax_steps = 500\nshell_timeout = 30\ncandidates = 10000\ntime_limit = 10\n',
    )
    s = _load(repo, env={"KIRI_HOME": str(home)})
    assert (s.approval, s.max_steps, s.candidates) == ("ask", 20, 256)  # looser: ignored
    assert (s.shell_timeout, s.time_limit) == (30, 10.0)  # stricter: taken
    assert s.sources["approval"] == f"user config ({user}); project's 'auto-edit' ignored"
    assert s.sources["candidates"] == "default; project's 10000 ignored"
    assert s.sources["time_limit"] == f"project config ({project})"
    assert sorted(w.split(" = ")[0] for w in s.warnings) == [
        "ignored approval",
        "ignored candidates",
        "ignored max_steps",
    ]
    assert (
        f"ignored approval = 'auto-edit' from {project}: a project may only tighten approval" in s.warnings[0]
    )


def test_the_base_a_project_tightens_is_the_default_for_this_terminal(home: Path, repo: Path) -> None:
    _write(repo / ".kiri" / "config.toml", 'approval = "auto-edit"\n')
    in_terminal = _load(repo, env={"KIRI_HOME": str(home)}, tty=True)
    assert in_terminal.approval == "ask" and in_terminal.warnings
    no_terminal = _load(repo, env={"KIRI_HOME": str(home)}, tty=False)
    assert no_terminal.approval == "auto-edit" and not no_terminal.warnings
    _write(repo / ".kiri" / "config.toml", 'approval = "ask"\n')
    assert _load(repo, env={"KIRI_HOME": str(home)}, tty=False).approval == "ask"


def test_env_and_flags_still_win_over_a_project(home: Path, repo: Path) -> None:
    _write(home / "config.toml", 'approval = "ask"\n')
    _write(repo / ".kiri" / "config.toml", 'approval = "auto-edit"\nmax_steps = 5\n')
    s = _load(repo, {"approval": "auto-edit"}, env={"KIRI_HOME": str(home), "KIRI_MAX_STEPS": "80"})
    assert (s.approval, s.max_steps) == ("auto-edit", 80)
    assert not s.warnings  # the user's own word replaced it: nothing to warn about


def test_a_project_model_path_stays_in_the_repository(home: Path, repo: Path, tmp_path: Path) -> None:
    (repo / "weights").mkdir()
    _write(repo / ".kiri" / "config.toml", 'local_model_path = "../weights"\n')
    assert _load(repo, env={"KIRI_HOME": str(home)}).local_model_path == repo / ".kiri" / ".." / "weights"
    _write(repo / ".kiri" / "config.toml", f'local_model_path = "{tmp_path / "elsewhere"}"\n')
    s = _load(repo, env={"KIRI_HOME": str(home)})
    assert s.local_model_path is None and "must lie inside the repository" in s.warnings[0]


@pytest.mark.parametrize("where", ["user", "project"])
def test_config_files_must_be_small_regular_utf8(home: Path, repo: Path, where: str) -> None:
    path = home / "config.toml" if where == "user" else repo / ".kiri" / "config.toml"
    env = {"KIRI_HOME": str(home)}
    _write(path, "").write_bytes(b'# ok\nmodel = "\xff"\n')
    with pytest.raises(UsageError, match=r"not UTF-8 text \(byte 0xff at offset 14, line 2\)"):
        _load(repo, env=env)
    path.write_bytes(b"#" * (1024 * 1024 + 1))
    with pytest.raises(UsageError, match="larger than 1048576 bytes"):
        _load(repo, env=env)
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(UsageError, match=f"{path}: not a regular file"):
        _load(repo, env=env)
    path.unlink()
    path.mkdir()
    with pytest.raises(UsageError, match="is a directory"):
        _load(repo, env=env)
    path.rmdir()
    # A symlinked dotfile is fine when it leads to a regular file.
    target = _write(home.parent / "dotfiles" / "kiri.toml", "max_steps = 7\n")
    path.symlink_to(target)
    assert _load(repo, env=env).max_steps == 7
