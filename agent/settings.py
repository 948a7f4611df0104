"""Effective settings, merged once: defaults < user config < project config < environment < flags.

``load_settings`` is the only place that reads configuration files and ``KIRI_*``/``OPENAI_*`` variables;
everything else receives a frozen :class:`Settings`. Each value remembers where it came from
(``Settings.sources``), which ``agent config`` shows.
"""

from __future__ import annotations

import difflib
import math
import os
import stat
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from agent.errors import UsageError
from tools.secrets import CREDENTIAL_VARS, ENV_NAME, Secrets

BACKENDS = ("remote", "local")
APPROVAL_MODES = ("ask", "auto-edit", "full-auto")
REMOTE_DEFAULT_MODEL = "gpt-4o-mini"
LOCAL_DEFAULT_MODEL = "kiri-coder"  # the bundled local diffusion coder
DEFAULT_CONTEXT_LIMIT = 128_000

# Context windows of well-known models, used when ``context_limit`` is not set. Prefix match, longest first,
# so dated snapshots ("gpt-4o-2024-08-06") find their family.
CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-4o": 128_000,
    "gpt-4o-mini": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-4-turbo": 128_000,
    "gpt-3.5-turbo": 16_385,
    "o1": 200_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    "mercury-coder": 128_000,
}

PROJECT_CONFIG = Path(".kiri") / "config.toml"
MAX_CONFIG_BYTES = 1024 * 1024  # a real config is a few hundred bytes; more is a mistake or an attack


@dataclass(frozen=True)
class Settings:
    """Everything a kiri command needs to know, after merging every source once."""

    db_url: str | None = None  # None: memory's default SQLite file in the user data dir
    workspace: Path = field(default_factory=Path.cwd)
    workspace_root: Path = field(
        default_factory=Path.cwd
    )  # git toplevel containing workspace, else workspace
    backend: str = "local"
    model: str = LOCAL_DEFAULT_MODEL
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)  # never stored in the database, masked when shown
    approval: str = "ask"
    max_steps: int = 50
    context_limit: int | None = None
    temperature: float | None = None
    json_output: bool = False
    deny_patterns: tuple[str, ...] = ()
    test_cmd: str | None = None
    shell_timeout: int = 120
    color: bool = True
    candidates: int = 256
    time_limit: float = 300.0
    local_model_path: Path | None = None  # None: the bundled model
    device: str | None = None  # None: pick automatically
    max_output_tokens: int | None = None  # per model reply; None: the backend's default (local: 512)
    local_commit: str = "draft_verify"  # the local sampler's commit rule; "fixed" is one token per step
    local_compile: str = "off"  # torch.compile the local model (meant for a GPU): off or a torch.compile mode
    secret_env: tuple[str, ...] = ()  # more variables whose values are secrets, besides the API key's own
    sources: dict[str, str] = field(default_factory=dict, compare=False)
    # One line each, shown once by the CLI: what a project config asked for and did not get.
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def context_window(self) -> int:
        """The context limit to work with: the configured one, else the model's known window, else 128k."""
        if self.context_limit is not None:
            return self.context_limit
        for prefix in sorted(CONTEXT_WINDOWS, key=len, reverse=True):
            if self.model == prefix or self.model.startswith(prefix + "-"):
                return CONTEXT_WINDOWS[prefix]
        return DEFAULT_CONTEXT_LIMIT

    def secrets(self, env: Mapping[str, str] | None = None) -> Secrets:
        """What child processes must not inherit and what is redacted: the key variables, `secret_env`, the key."""
        return Secrets.collect(self.secret_env, (self.api_key,), env)

    def public_items(self) -> list[tuple[str, Any, str]]:
        """(key, value, source) for every setting, the API key masked: what ``agent config`` shows."""
        rows = []
        for f in fields(self):
            if f.name in ("sources", "warnings"):
                continue
            value = getattr(self, f.name)
            if f.name == "api_key" and value is not None:
                value = mask_secret(value)
            rows.append((f.name, value, self.sources.get(f.name, "default")))
        return rows


def mask_secret(secret: str) -> str:
    """Show enough of a key to recognise it (``sk-...abcd``), never enough to use it."""
    if len(secret) < 12:
        return "****"
    return f"{secret[:3]}...{secret[-4:]}"


# ---------------------------------------------------------------------------------------------------------------
# Parsing values. TOML gives typed values, the environment and flags give strings; one parser per type takes both.


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _opt_str(value: Any) -> str | None:
    value = _str(value)
    return value or None  # an empty string unsets an inherited value (KIRI_BASE_URL= agent ...)


def _int(value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer")
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError("expected an integer") from None
    if not isinstance(value, int):
        raise ValueError("expected an integer")
    if value < minimum:
        raise ValueError(f"must be at least {minimum}")
    return value


def _opt_int(value: Any) -> int | None:
    if value in ("", None):
        return None
    return _int(value)


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError("expected a number") from None
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("expected a number")
    return float(value)


def _positive_float(value: Any) -> float:
    number = _float(value)
    if number <= 0:
        raise ValueError("must be greater than 0")
    return number


def _temperature(value: Any) -> float | None:
    if value in ("", None):
        return None
    number = _float(value)
    if not 0 <= number <= 2:
        raise ValueError("must be between 0 and 2")
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
    raise ValueError("expected true or false")


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        value = _str(value).strip().lower()
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return value

    return parse


def _patterns(value: Any) -> tuple[str, ...]:
    # Environment/flag form: comma separated ("rm -rf *,git push*"); file form: a list of strings.
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(",") if p.strip())
    if isinstance(value, list | tuple) and all(isinstance(p, str) for p in value):
        return tuple(value)
    raise ValueError("expected a list of strings")


def _env_names(value: Any) -> tuple[str, ...]:
    names = _patterns(value)
    for name in names:
        if not ENV_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not an environment variable name")
    return names


def _opt_path(value: Any) -> Path | None:
    value = _opt_str(value)
    return Path(value).expanduser() if value else None


@dataclass(frozen=True)
class _Spec:
    parse: Callable[[Any], Any]
    env: tuple[str, ...] = ()  # first one set wins: KIRI_API_KEY before OPENAI_API_KEY
    flag: str | None = None  # how the command line spells it, for the sources column
    project_ok: bool = True  # may a repository's .kiri/config.toml set it?


# The config file keys are the field names. Fields missing here (workspace, json_output, color) are not read
# from the environment by name; see load_settings.
SPECS: dict[str, _Spec] = {
    # A repository must not choose where the user's sessions are written, nor where the user's key is sent.
    "db_url": _Spec(_opt_str, ("KIRI_DB",), "--db", project_ok=False),
    "backend": _Spec(_choice(BACKENDS), ("KIRI_BACKEND",), "--backend"),
    "model": _Spec(_str, ("KIRI_MODEL",), "--model"),
    "base_url": _Spec(_opt_str, ("KIRI_BASE_URL", "OPENAI_BASE_URL"), "--base-url", project_ok=False),
    # A repository must not carry secrets.
    "api_key": _Spec(_opt_str, CREDENTIAL_VARS, None, project_ok=False),
    # Only the user names their secrets: redaction changes what the user is shown (a repository naming HOME
    # could hide where a command writes), and a repository cannot know the user's variables anyway.
    "secret_env": _Spec(_env_names, ("KIRI_SECRET_ENV",), project_ok=False),
    "approval": _Spec(_choice(APPROVAL_MODES), ("KIRI_APPROVAL",), "--approval"),
    "max_steps": _Spec(_int, ("KIRI_MAX_STEPS",), "--max-steps"),
    "context_limit": _Spec(_opt_int, ("KIRI_CONTEXT_LIMIT",)),
    "temperature": _Spec(_temperature, ("KIRI_TEMPERATURE",)),
    "deny_patterns": _Spec(_patterns, ("KIRI_DENY",)),
    # `agent fix` runs the test command without asking: a repository must not choose what that runs.
    "test_cmd": _Spec(_opt_str, ("KIRI_TEST_CMD",), "--test-cmd", project_ok=False),
    "shell_timeout": _Spec(_int, ("KIRI_SHELL_TIMEOUT",)),
    "color": _Spec(_bool, ()),
    "candidates": _Spec(_int, ("KIRI_CANDIDATES",), "--candidates"),
    "time_limit": _Spec(_positive_float, ("KIRI_TIME_LIMIT",), "--time-limit"),
    "local_model_path": _Spec(_opt_path, ("KIRI_LOCAL_MODEL",)),
    "device": _Spec(_opt_str, ("KIRI_DEVICE",)),
    "max_output_tokens": _Spec(_opt_int, ("KIRI_MAX_OUTPUT_TOKENS",)),
    "local_commit": _Spec(_choice(("draft_verify", "threshold", "fixed")), ("KIRI_LOCAL_COMMIT",)),
    # Mirrors local_model.compiled.COMPILE_MODES (not imported: it would import torch for every command).
    "local_compile": _Spec(
        _choice(("off", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")),
        ("KIRI_LOCAL_COMPILE",),
    ),
}


def user_config_path(env: Mapping[str, str] | None = None) -> Path:
    """The user's ``config.toml``: under ``$KIRI_HOME`` when set, else platformdirs' user config dir."""
    env = os.environ if env is None else env
    home = env.get("KIRI_HOME")
    if home:
        return Path(home).expanduser() / "config.toml"
    import platformdirs  # imported here: only needed when KIRI_HOME is not set

    return Path(platformdirs.user_config_dir("kiri")) / "config.toml"


def find_workspace_root(directory: Path) -> Path:
    """The git toplevel containing ``directory`` (a ``.git`` dir, or file for worktrees), else ``directory``."""
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return directory


def _read_toml(path: Path) -> dict[str, Any]:
    """The TOML table in ``path`` ({} when there is no file), or one UsageError line naming the file.

    A config file sits in a repository the user may not have read: a FIFO there would block ``open`` forever,
    a device would be read without end, and stray bytes would surface as a traceback from ``tomllib``.
    """
    try:
        info = os.stat(path)  # follows symlinks: a symlinked dotfile is fine if it leads to a regular file
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    _check_config_file(path, info)
    from tools.limits import read_regular_prefix  # here: tools/ is loaded only when a config file exists

    try:
        # Checked again on the open file: a FIFO swapped in after the stat is not waited for, only refused.
        data = read_regular_prefix(path, MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    if data is None:
        raise UsageError(f"{path}: not a regular file (a FIFO, socket or device); refusing to read it")
    if len(data) > MAX_CONFIG_BYTES:
        raise UsageError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes; this is not a kiri config file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}, line {line})"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # the message carries "(at line L, column C)"
        raise UsageError(f"{path}: invalid TOML: {exc}") from None


def _check_config_file(path: Path, info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{path}: is a directory, not a config file")
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{path}: not a regular file (a FIFO, socket or device); refusing to read it")
    if info.st_size > MAX_CONFIG_BYTES:
        raise UsageError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes; this is not a kiri config file")


def _parse(name: str, value: Any, where: str) -> Any:
    try:
        return SPECS[name].parse(value)
    except ValueError as exc:
        raise UsageError(f"{where}: invalid value {value!r} for {name}: {exc}") from None


def _apply_file(
    path: Path,
    label: str,
    merged: dict[str, Any],
    sources: dict[str, str],
    *,
    project: _ProjectRules | None = None,
) -> None:
    """Merge one config file; ``project`` (for a repository's file) holds what it may and may not change."""
    data = _read_toml(path)
    source = f"{label} ({path})"
    for key, value in data.items():
        if key not in SPECS:
            hint = difflib.get_close_matches(key, SPECS, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise UsageError(f"{path}: unknown setting {key!r}{suggestion}")
        if project and not SPECS[key].project_ok:
            raise UsageError(f"{path}: {key} may not be set in a project config; use the environment")
        parsed = _parse(key, value, str(path))
        if project and key == "approval" and parsed == "full-auto":
            # A cloned repository must not grant itself unattended shell access.
            raise UsageError(f"{path}: approval = 'full-auto' may only come from the user, not a project")
        if key == "db_url" and parsed:
            parsed = _db_url(parsed, path.parent)
        if key == "local_model_path" and parsed is not None and not parsed.is_absolute():
            parsed = path.parent / parsed
        if project and not project.allows(key, parsed, path, merged):
            continue
        _merge(key, parsed, source, merged, sources)


def _stricter_approval(a: str, b: str) -> str:
    return a if APPROVAL_MODES.index(a) <= APPROVAL_MODES.index(b) else b


# Settings that guard the user, each with "the stricter of two values". A project may only move them towards
# the strict end of what the user's own sources (user config, else the default) give; env and flags are the
# user's explicit word and still win afterwards. The other project_ok settings tune the model or the display.
TIGHTEN: dict[str, Callable[[Any, Any], Any]] = {
    "approval": _stricter_approval,
    "max_steps": min,  # actions the model takes in one turn, unattended in auto-edit
    "shell_timeout": min,  # how long `agent fix` lets a test command run without asking
    "candidates": min,  # local-model work (CPU/GPU time) one `agent fix` may spend
    "time_limit": min,  # wall-clock budget of one `agent fix` search
}


@dataclass
class _ProjectRules:
    """What a repository's config may change: only inside the repository, and only towards stricter."""

    root: Path  # the workspace root; a project's paths must stay in it
    stdin_tty: bool
    ignored: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (warning, note for its source)

    def allows(self, key: str, value: Any, path: Path, merged: dict[str, Any]) -> bool:
        if key in TIGHTEN:
            base = merged[key] if key in merged else self._default(key)
            if TIGHTEN[key](base, value) == value:
                return True
            self._ignore(key, value, path, f"a project may only tighten {key} (the user's is {base!r})")
            return False
        if key == "local_model_path" and value is not None:
            # A repository may ship its own checkpoint, not point kiri at files elsewhere on the user's disk.
            real = Path(os.path.realpath(value))
            if not real.is_relative_to(os.path.realpath(self.root)):
                self._ignore(key, str(value), path, "a project's model path must lie inside the repository")
                return False
        return True

    def _default(self, key: str) -> Any:
        if key == "approval":
            return _approval_default(self.stdin_tty)[0]
        return next(f.default for f in fields(Settings) if f.name == key)

    def _ignore(self, key: str, value: Any, path: Path, why: str) -> None:
        self.ignored[key] = (f"ignored {key} = {value!r} from {path}: {why}", f"project's {value!r} ignored")


def _merge(key: str, value: Any, source: str, merged: dict[str, Any], sources: dict[str, str]) -> None:
    if key in ("deny_patterns", "secret_env") and key in merged:
        # Deny rules and secret names add up across sources: a later one can tighten, never silently drop one.
        merged[key] = tuple(dict.fromkeys((*merged[key], *value)))
        sources[key] = f"{sources[key]} + {source}"
        return
    merged[key] = value
    sources[key] = source


def _db_url(value: str, base: Path) -> str:
    """Accept a plain file path where a SQLAlchemy URL is expected: ``./kiri.db`` -> ``sqlite:///abs/kiri.db``."""
    if "://" in value:
        return value
    return f"sqlite:///{(base / Path(value).expanduser()).resolve()}"


def load_settings(
    flags: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    stdin_tty: bool | None = None,
    stdout_tty: bool | None = None,
) -> Settings:
    """Merge every source once and return the effective settings.

    ``flags`` holds command-line values by field name (plus ``cwd`` for ``-C`` and ``yes`` for ``-y``); absent or
    ``None`` means "not given". ``cwd`` is the directory the user typed the command in, ``env`` the environment.
    ``stdin_tty``/``stdout_tty`` default to the real streams; they decide the approval default and colour.
    Raises :class:`UsageError` with one line naming the bad source.
    """
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    stdin_tty = sys.stdin.isatty() if stdin_tty is None else stdin_tty
    stdout_tty = sys.stdout.isatty() if stdout_tty is None else stdout_tty

    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}

    workspace = cwd
    sources["workspace"] = "current directory"
    if "cwd" in flags:
        workspace = cwd / Path(flags["cwd"]).expanduser()
        sources["workspace"] = "flag -C/--cwd"
    sources["workspace_root"] = "git toplevel of workspace"
    if not workspace.is_dir():
        raise UsageError(f"no such directory: {workspace}")
    workspace = workspace.resolve()
    merged["workspace"] = workspace
    merged["workspace_root"] = find_workspace_root(workspace)
    if merged["workspace_root"] == workspace and not (workspace / ".git").exists():
        sources["workspace_root"] = "workspace (not in a git repository)"

    _apply_file(user_config_path(env), "user config", merged, sources)
    rules = _ProjectRules(merged["workspace_root"], stdin_tty)
    _apply_file(merged["workspace_root"] / PROJECT_CONFIG, "project config", merged, sources, project=rules)

    for name, spec in SPECS.items():
        for var in spec.env:
            if var in env:
                value = _parse(name, env[var], f"environment variable {var}")
                if name == "db_url" and value:
                    value = _db_url(value, cwd)
                _merge(name, value, f"env {var}", merged, sources)
                break
    if env.get("NO_COLOR"):  # https://no-color.org: any non-empty value
        _merge("color", False, "env NO_COLOR", merged, sources)

    if flags.get("yes"):
        if flags.get("approval") not in (None, "full-auto"):
            raise UsageError(f"--yes conflicts with --approval {flags['approval']}")
        _merge("approval", "full-auto", "flag --yes", merged, sources)
    for name, value in flags.items():
        if name in ("cwd", "yes"):
            continue
        if name == "json_output":
            _merge(name, bool(value), "flag --json", merged, sources)
            continue
        if name not in SPECS:
            raise ValueError(f"unknown flag field {name!r}")  # a programming error, not the user's
        where = f"option {SPECS[name].flag or name}"
        parsed = _parse(name, value, where)
        if name == "db_url" and parsed:
            parsed = _db_url(parsed, cwd)
        _merge(name, parsed, f"flag {SPECS[name].flag or name}", merged, sources)

    _fill_defaults(merged, sources, stdin_tty=stdin_tty, stdout_tty=stdout_tty)
    warnings = []
    for key, (warning, note) in rules.ignored.items():
        if not sources[key].startswith(("env ", "flag ")):  # the user's explicit word replaced it anyway
            sources[key] = f"{sources[key]}; {note}"
            warnings.append(warning)
    if merged.get("deny_patterns"):
        _check_deny_patterns(merged["deny_patterns"], sources["deny_patterns"])
    return Settings(**merged, sources=sources, warnings=tuple(warnings))


def _check_deny_patterns(patterns: tuple[str, ...], source: str) -> None:
    # Compile them now so a bad regex is a configuration error here, not a crash when the session starts.
    from tools.gate import deny_rule

    for pattern in patterns:
        try:
            deny_rule(pattern)
        except ValueError as exc:
            raise UsageError(f"{exc} (from {source})") from None


def _approval_default(stdin_tty: bool) -> tuple[str, str]:
    """(mode, source) when nobody chose one. In a terminal kiri asks. Without one there is usually nobody to
    answer: edits go ahead (each is recorded and `agent undo` reverts it), shell commands are still asked on
    stdin and refused at end of input, since they cannot be undone. --yes / --approval full-auto lets a script
    run them."""
    return ("ask", "default (terminal)") if stdin_tty else ("auto-edit", "default (no terminal)")


def _fill_defaults(
    merged: dict[str, Any], sources: dict[str, str], *, stdin_tty: bool, stdout_tty: bool
) -> None:
    # Defaults that depend on other values: a configured endpoint or key means the user wants a remote model.
    if "backend" not in merged:
        remote = merged.get("api_key") or merged.get("base_url")
        merged["backend"] = "remote" if remote else "local"
        sources["backend"] = "default (API key or base URL set)" if remote else "default (no API key)"
    if "model" not in merged:
        merged["model"] = REMOTE_DEFAULT_MODEL if merged["backend"] == "remote" else LOCAL_DEFAULT_MODEL
        sources["model"] = f"default for {merged['backend']} backend"
    if "approval" not in merged:
        merged["approval"], sources["approval"] = _approval_default(stdin_tty)
    if "color" not in merged:
        merged["color"] = stdout_tty
        sources["color"] = "default (terminal)" if stdout_tty else "default (not a terminal)"
    for f in fields(Settings):
        if f.name not in ("sources", "warnings"):
            sources.setdefault(f.name, "default")
