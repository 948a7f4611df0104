"""The only way kiri runs git: pinned to the workspace's own repository, with every program a repository can
configure switched off.

A repository's `.git/config` (and what it includes) is as hostile as its files: `core.fsmonitor`, filter
drivers (`filter.<name>.clean` / `process`, run by `git status` and `git diff` when they re-read a file), diff
drivers (`textconv`, external diff commands), pagers, editors, hooks (`post-index-change` fires when status
rewrites the index), credential helpers and transports (a partial clone fetches missing objects). A plain
`git status` would run any of them before the user is asked anything. So each call:

- names the git directory and work tree (never discovered, never taken from GIT_DIR & co.),
- overrides the program-valued settings on the command line, which outranks every config file,
- neutralises every filter driver the effective configuration defines, by name (names are arbitrary, so they
  are listed first with `git config --list`, which follows includes exactly as the real call will),
- passes `--no-optional-locks` (status does not rewrite the index) and, on diff and log, `--no-ext-diff
  --no-textconv` and `--ignore-submodules=all`,
- allows only read-only subcommands, for which the above is the complete list of programs git may start.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tools.errors import ToolError
from tools.gitdir import locate
from tools.secrets import Secrets

TIMEOUT_S = 30.0

# Subcommands kiri runs. Anything else (commit, checkout, merge, fetch, ...) can run hooks, merge drivers or
# transports that this module does not switch off, so it is refused rather than half-protected.
READ_ONLY = frozenset(
    {"status", "diff", "diff-index", "diff-files", "log", "rev-parse", "ls-files", "config"}
)
# Options a subcommand always gets. A submodule is looked at by a child git with the submodule's own config,
# whose filter drivers nobody listed, so submodules are not looked into (the plumbing diffs ignore the
# diff.ignoreSubmodules setting, hence the option).
_NO_DRIVERS = ("--no-ext-diff", "--no-textconv", "--ignore-submodules=all")
_FORCED: dict[str, tuple[str, ...]] = {
    "status": ("--ignore-submodules=all",),
    "diff": _NO_DRIVERS,
    "diff-index": _NO_DRIVERS,
    "diff-files": _NO_DRIVERS,
    "log": ("--no-ext-diff", "--no-textconv", "--no-show-signature"),
}

# Settings that name a program or make git start one; a command-line value outranks every config file.
SAFE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),
    ("core.useBuiltinFSMonitor", "false"),  # the name before git 2.36
    ("core.hooksPath", os.devnull),
    ("core.pager", "cat"),
    ("core.editor", "false"),
    ("sequence.editor", "false"),
    ("core.askPass", ""),
    ("credential.helper", ""),  # an empty value clears the list of helpers
    ("core.sshCommand", "false"),
    ("protocol.allow", "never"),  # no transport at all: a partial clone must not fetch missing objects
    ("diff.external", ""),
    ("log.showSignature", "false"),  # verifying a signature runs gpg.program
    ("status.submoduleSummary", "false"),
    ("diff.ignoreSubmodules", "all"),  # a submodule's status is a child git with the submodule's config
    ("submodule.recurse", "false"),
    ("core.untrackedCache", "false"),
)

# Variables that would point git at another repository, index or object store than the one named here.
_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_EXTERNAL_DIFF",
)


class GitFailed(ToolError):
    """git ran and exited non-zero; `returncode` and `stderr` say how."""

    def __init__(self, subcommand: str, returncode: int, stderr: str) -> None:
        super().__init__(f"git {subcommand} failed: {stderr.strip() or f'exit status {returncode}'}")
        self.returncode = returncode
        self.stderr = stderr


def git_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of kiri's git processes: `base` (default os.environ) without repository overrides (callers pass it credential-free),
    with prompts, pagers and editors off. The one place to swap in a different base environment."""
    env = dict(os.environ if base is None else base)
    for name in _LOCATION_VARS:
        env.pop(name, None)
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_PAGER="cat",
        PAGER="cat",
        GIT_EDITOR="false",
        GIT_SEQUENCE_EDITOR="false",
        GIT_ASKPASS="",  # empty, not unset: an unset one lets core.askPass and SSH_ASKPASS through
        SSH_ASKPASS="",
        GIT_OPTIONAL_LOCKS="0",
        GIT_NO_LAZY_FETCH="1",
    )
    return env


@dataclass(frozen=True)
class Git:
    """git for one work tree, with its git directory checked and its filter drivers neutralised."""

    work_tree: Path
    git_dir: Path
    overrides: tuple[tuple[str, str], ...]
    secrets: Secrets = field(default_factory=Secrets)  # what git's environment leaves out

    @classmethod
    def open(cls, work_tree: str | os.PathLike[str], secrets: Secrets | None = None) -> Git:
        """Locate and vet the git directory (gitdir.locate), then read which drivers to neutralise.

        Raises NotARepository, ForeignGitDir, or ToolError when git is missing or the config is unreadable.
        """
        root = Path(os.path.realpath(work_tree))
        secrets = secrets or Secrets()
        bare = cls(root, locate(root), SAFE_CONFIG, secrets)
        keys = bare.run("config", "--list", "-z").split("\0")
        overrides = SAFE_CONFIG + driver_overrides(k.partition("\n")[0] for k in keys)
        return cls(root, bare.git_dir, overrides, secrets)

    def run(self, subcommand: str, *args: str) -> str:
        """stdout of `git SUBCOMMAND ARGS` in the work tree. Raises GitFailed, or ToolError."""
        if (
            subcommand not in READ_ONLY
            or subcommand == "config"
            and args[:1] not in (("--list",), ("--get",))
        ):
            raise ValueError(f"git {subcommand} {' '.join(args[:1])} is not a read-only call kiri may make")
        argv = ["git", *self._global_options(), subcommand, *_FORCED.get(subcommand, ()), *args]
        try:
            proc = subprocess.run(
                argv,
                cwd=self.work_tree,
                env=git_environment(self.secrets.child_env()),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=TIMEOUT_S,
                check=False,
            )
        except FileNotFoundError as exc:
            raise ToolError("git is not installed") from exc
        except subprocess.TimeoutExpired as exc:
            raise ToolError(f"git {subcommand} took longer than {TIMEOUT_S:.0f}s and was stopped") from exc
        out = proc.stdout.decode("utf-8", "replace")
        if proc.returncode != 0:
            raise GitFailed(subcommand, proc.returncode, proc.stderr.decode("utf-8", "replace"))
        return out

    def _global_options(self) -> list[str]:
        options = [
            "--no-pager",
            "--no-optional-locks",
            f"--git-dir={self.git_dir}",
            f"--work-tree={self.work_tree}",
        ]
        for key, value in self.overrides:
            options += ["-c", f"{key}={value}"]
        return options


def driver_overrides(keys: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """`-c` settings that disable every filter driver named in `keys` (config keys, as `git config --list`
    prints them: section and key lower-case, the driver name as written)."""
    names = dict.fromkeys(
        key[len("filter.") : key.rindex(".")]
        for key in keys
        if key.lower().startswith("filter.") and key.count(".") >= 2
    )
    overrides: list[tuple[str, str]] = []
    for name in names:
        if "=" in name or "\n" in name:
            # `-c` splits at the first '=', so such a driver could not be switched off: refuse the repository
            raise ToolError(
                f"the git config defines a filter driver named {name!r}, which kiri cannot switch off; "
                "kiri's git tools do not run in this repository"
            )
        # empty clean/smudge/process: git applies no filter; required=false: and does not fail for it
        overrides += [(f"filter.{name}.{k}", "") for k in ("clean", "smudge", "process")]
        overrides.append((f"filter.{name}.required", "false"))
    return tuple(overrides)
