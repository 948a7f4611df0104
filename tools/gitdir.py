"""Where a workspace's git directory is, and whether kiri may use it.

A `.git` *file* (`gitdir: /elsewhere`), a `.git` symlink or a `commondir` file can point git at another
repository, so that kiri's git calls would show its content and rewrite its index. A hostile repository (an
archive, not a clone: git refuses to check out `.git`) or the model can write such a file, so only one kind of
pointer is honoured: a linked worktree (`git worktree add`), whose administrative directory names this
workspace's `.git` file in return. Nobody confined to the workspace can forge that answer: it lives outside.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tools.errors import PermissionDenied, ToolError

MAX_POINTER_BYTES = 4096  # a `gitdir:` line is one path; anything longer is not a pointer git writes


class NotARepository(ToolError):
    """The workspace has no `.git` of its own."""


class ForeignGitDir(PermissionDenied):
    """The workspace's `.git` leads to a git directory outside the workspace that does not vouch for it."""


def locate(work_tree: Path) -> Path:
    """The real path of `work_tree`'s git directory. Raises NotARepository or ForeignGitDir.

    Only `work_tree/.git` counts: a repository further up is never searched for, since its index and config
    are not the workspace's to use. It must be a plain directory (then it is the git directory), or the
    `.git` file of a linked worktree. A symlink, a pointer to anywhere else (even inside the workspace) or a
    `commondir` in a plain `.git` directory is refused: git never sets a work tree up that way, and a git
    directory that is not `.git` would hold config and hooks that the gate does not know to protect.
    """
    root = Path(os.path.realpath(work_tree))
    dot = root / ".git"
    try:
        info = os.lstat(dot)
    except FileNotFoundError:
        raise NotARepository(f"{root} is not a git repository (it has no .git)") from None
    except OSError as exc:
        raise NotARepository(f"{root}/.git cannot be read: {exc.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise ForeignGitDir(
            f"{dot} is a symlink (to {os.path.realpath(dot)}); kiri's git tools only use a .git directory "
            "or a worktree's .git file"
        )
    if stat.S_ISDIR(info.st_mode):
        if os.path.lexists(dot / "commondir"):
            raise ForeignGitDir(
                f"{dot}/commondir sends git to another repository's objects, refs and config; "
                "kiri's git tools refuse to use it"
            )
        return dot
    if not stat.S_ISREG(info.st_mode):
        raise NotARepository(f"{dot} is neither a directory nor a file")
    git_dir = Path(os.path.realpath(root / _read_pointer(dot)))
    # An admin directory inside the workspace proves nothing: whoever wrote the .git file could write it too.
    if _inside(git_dir, root) or not _vouches_for(git_dir, dot):
        raise ForeignGitDir(
            f"{dot} points at {git_dir}, which is not a worktree of this workspace (its gitdir file does not "
            "name this .git); kiri's git tools refuse to use it"
        )
    return git_dir  # a linked worktree: its common dir is the main repository's, by design


def _read_pointer(dot: Path) -> str:
    """The path in a `.git` file, as git reads it: `gitdir: <path>` with trailing whitespace dropped."""
    try:
        with open(dot, "rb") as f:
            data = f.read(MAX_POINTER_BYTES + 1)
    except OSError as exc:
        raise NotARepository(f"{dot} cannot be read: {exc.strerror}") from None
    text = data.decode("utf-8", "surrogateescape").rstrip()
    if len(data) > MAX_POINTER_BYTES or not text.startswith("gitdir: ") or "\0" in text:
        raise NotARepository(f"{dot} is a file but not a `gitdir: <path>` pointer")
    return text.removeprefix("gitdir: ")


def _vouches_for(git_dir: Path, dot: Path) -> bool:
    """Whether `git_dir` is a worktree's admin directory whose `gitdir` file names `dot` (this `.git` file)."""
    try:
        back = (
            (git_dir / "gitdir").read_bytes()[:MAX_POINTER_BYTES].decode("utf-8", "surrogateescape").strip()
        )
    except OSError:
        return False
    # newer git may write the path relative to the admin directory (worktree.useRelativePaths)
    return bool(back) and os.path.realpath(git_dir / back) == os.path.realpath(dot)


def _inside(path: Path, root: Path) -> bool:
    return path == root or str(path).startswith(str(root).rstrip(os.sep) + os.sep)
