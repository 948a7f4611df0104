"""Git tools (git_status, git_diff, git_log) through gitpython, limited to the workspace."""

from __future__ import annotations

import os

# Without this GitPython refuses to import at all when no git executable is installed, which would take every
# command down with a traceback; with it, the git tools report "git is not installed" and the rest works.
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import git  # noqa: E402

from tools.context import ToolContext
from tools.errors import ToolError

_PLAIN = ("--no-pager",)  # never page; colour is off because output is not a terminal


def _git(ctx: ToolContext) -> git.Git:
    """A git command runner in the workspace, or a clear error outside a repository."""
    root = ctx.gate.resolve(".")
    try:
        git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise ToolError(
            f"{root} is not inside a git repository, so there is no git status, diff or log; "
            "use list_dir, read_file and the recorded diffs instead"
        ) from exc
    return git.Git(str(root))


def _run(runner: git.Git, *args: str) -> str:
    try:
        return runner.execute(["git", *_PLAIN, *args], strip_newline_in_stdout=False)
    except git.GitCommandNotFound as exc:
        raise ToolError("git is not installed") from exc
    except git.GitCommandError as exc:
        raise ToolError(f"git {args[0]} failed: {str(exc.stderr).strip() or exc}") from exc


def git_status(ctx: ToolContext) -> str:
    """Show the branch and which files are staged, modified or untracked (`git status --short --branch`)."""
    out = _run(_git(ctx), "status", "--short", "--branch", "--", ".").rstrip()
    if "\n" not in out:
        out += "\n(working tree clean)"
    return out


def git_diff(ctx: ToolContext, path: str | None = None) -> str:
    """Show uncommitted changes (staged and unstaged) against the last commit, for the whole workspace or
    one path. Untracked files are listed, not diffed.

    Args:
        path: Limit the diff to this file or directory, relative to the workspace root.
    """
    runner = _git(ctx)
    spec = ctx.gate.relative(ctx.gate.resolve(path)) if path else "."
    flags = ("--no-color", "--no-ext-diff")
    try:
        runner.execute(["git", "rev-parse", "--verify", "--quiet", "HEAD"])
        diff = _run(runner, "diff", *flags, "HEAD", "--", spec)
    except git.GitCommandError:  # no commit yet: staged and unstaged separately
        diff = _run(runner, "diff", *flags, "--cached", "--", spec) + _run(runner, "diff", *flags, "--", spec)
    untracked = _run(runner, "ls-files", "--others", "--exclude-standard", "--", spec).split()
    parts = [diff.rstrip()] if diff.strip() else ["(no changes to tracked files)"]
    if untracked:
        parts.append("Untracked files (not in the diff): " + ", ".join(untracked))
    return "\n".join(parts)


def git_log(ctx: ToolContext, n: int = 10) -> str:
    """Show the latest commits: short hash, date, author and subject.

    Args:
        n: How many commits to show (1-200).
    """
    if not 1 <= n <= 200:
        raise ToolError("n must be between 1 and 200")
    runner = _git(ctx)
    try:
        runner.execute(["git", "rev-parse", "--verify", "--quiet", "HEAD"])
    except git.GitCommandError:
        return "No commits yet."
    return _run(runner, "log", f"--max-count={n}", "--date=short", "--format=%h %ad %an: %s").rstrip()
