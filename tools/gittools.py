"""Git tools (git_status, git_diff, git_log), run through tools.gitexec on the workspace's own repository."""

from __future__ import annotations

from tools.context import ToolContext
from tools.errors import ToolError
from tools.gitdir import NotARepository
from tools.gitexec import Git, GitFailed


def _git(ctx: ToolContext) -> Git:
    """git for the workspace, or a clear error when it has no repository (or one kiri refuses to use)."""
    root = ctx.gate.resolve(".")  # through the gate, like every tool
    try:
        return Git.open(root, ctx.secrets)
    except NotARepository as exc:
        raise ToolError(
            f"{root} is not inside a git repository, so there is no git status, diff or log; "
            "use list_dir, read_file and the recorded diffs instead"
        ) from exc


def _has_commits(runner: Git) -> bool:
    try:
        runner.run("rev-parse", "--verify", "--quiet", "HEAD")
    except GitFailed:
        return False
    return True


def git_status(ctx: ToolContext) -> str:
    """Show the branch and which files are staged, modified or untracked (`git status --short --branch`)."""
    out = _git(ctx).run("status", "--short", "--branch", "--", ".").rstrip()
    if "\n" not in out:
        out += "\n(working tree clean)"
    return out


def git_diff(ctx: ToolContext, path: str | None = None) -> str:
    """Show uncommitted changes (staged and unstaged) against the last commit, for the whole workspace or
    one path. Untracked files are listed, not diffed.

    Args:
        path: Limit the diff to this file or directory, relative to the workspace root.
    """
    spec = ctx.gate.relative(ctx.gate.resolve(path)) if path else "."
    runner = _git(ctx)
    # The plumbing diff-index / diff-files, not `git diff`: comparing with the work tree, `git diff` rewrites
    # the index to refresh its stat data, even with --no-optional-locks, racing the user's own git commands.
    flags = ("-p", "--no-color")
    if _has_commits(runner):
        diff = runner.run("diff-index", *flags, "HEAD", "--", spec)
    else:  # no commit yet: staged (against the empty tree; writes nothing) and unstaged separately
        diff = runner.run("diff", *flags, "--cached", "--", spec) + runner.run(
            "diff-files", *flags, "--", spec
        )
    untracked = runner.run("ls-files", "--others", "--exclude-standard", "--", spec).split()
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
    if not _has_commits(runner):
        return "No commits yet."
    return runner.run("log", f"--max-count={n}", "--date=short", "--format=%h %ad %an: %s").rstrip()
