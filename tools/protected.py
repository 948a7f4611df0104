"""Paths whose writes are never silent: git's own directory and kiri's project config.

What is written under `.git/` (config, hooks, info/attributes) decides which programs git starts, and
`.kiri/` at the workspace root holds the project's kiri settings, so a write there is asked about even when
ordinary edits are not. A `.git` *file* would point git at another repository: it is never written.

Names are compared the way case-folding filesystems (macOS, Windows) and git itself compare them: `.GIT`,
`.git.` or `git~1` (an NTFS short name) are the same directory there.
"""

from __future__ import annotations

import re

PROJECT_DIR = ".kiri"

# Code points HFS+ ignores in names (git's is_hfs_dotgit drops the same ones): ".g\u200cit" is ".git" there.
_IGNORABLE = re.compile("[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]")


def _folded(name: str) -> str:
    # NTFS drops trailing dots and spaces: ".git. " opens ".git"
    return _IGNORABLE.sub("", name).casefold().rstrip(". ")


def is_dotgit(name: str) -> bool:
    """Whether a path component names git's directory on some filesystem."""
    folded = _folded(name)
    return folded in (".git", "git~1")


def refusal(rel: str) -> str | None:
    """Why a write to `rel` (workspace-relative, '/'-separated) is refused in every mode, or None."""
    if is_dotgit(rel.rsplit("/", 1)[-1]):
        return (
            f"{rel}: kiri never writes a file named .git (it would point git at another repository); "
            "this is refused in every approval mode"
        )
    return None


def protection(rel: str) -> str | None:
    """Why a write to `rel` must be asked about in every mode but full-auto, or None for an ordinary path."""
    parts = rel.split("/")
    if any(is_dotgit(part) for part in parts[:-1]):
        return "it is inside .git/, where config and hooks decide which programs git runs"
    if len(parts) > 1 and _folded(parts[0]) == PROJECT_DIR:
        return "it is kiri's project config (.kiri/), which decides how kiri runs here"
    return None
