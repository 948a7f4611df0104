"""AGENTS.md: the user's and the project's standing instructions, read without trusting the repository.

A project's AGENTS.md is the repository's file: it is read through the same gate as the file tools, so a
symlink out of the workspace (``AGENTS.md -> /proc/self/environ``), a FIFO, a device or a directory is skipped
with a warning instead of being followed, blocking or read whole. The user's own AGENTS.md (in the config dir)
may be a symlink into their dotfiles, but it must still be a regular file, and both are read only up to a cap.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tools.errors import PermissionDenied, ToolError
from tools.gate import Gate
from tools.limits import read_regular_prefix

MAX_INSTRUCTIONS_CHARS = 20_000  # AGENTS.md files beyond this are cut (with a note) to protect the context
# UTF-8 takes at most 4 bytes a character: reading this much always yields the whole cap, never the whole file.
MAX_INSTRUCTIONS_BYTES = 4 * MAX_INSTRUCTIONS_CHARS + 1
NAME = "AGENTS.md"

Warn = Callable[[str], None]


def read_user_file(path: Path, max_bytes: int = MAX_INSTRUCTIONS_BYTES) -> bytes:
    """The first `max_bytes` of a regular file the user owns (symlinks followed); OSError or ToolError."""
    data = read_regular_prefix(path, max_bytes)
    if data is None:
        raise ToolError(f"{path} is not a regular file")
    return data


def _text(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace").strip()
    if len(data) >= MAX_INSTRUCTIONS_BYTES or len(text) > MAX_INSTRUCTIONS_CHARS:
        text = text[:MAX_INSTRUCTIONS_CHARS] + "\n[... AGENTS.md truncated ...]"
    return text


def _read(path: Path, root: Path | None, warn: Warn) -> str | None:
    """The text of one AGENTS.md, or None when absent or skipped (with a warning saying why)."""
    try:
        if root is None:
            data = read_user_file(path)
        else:
            data = Gate(root).read_bytes(path.relative_to(root), max_bytes=MAX_INSTRUCTIONS_BYTES)
    except FileNotFoundError:
        return None  # no instructions here: the common case, nothing to say
    except PermissionDenied as exc:
        warn(f"skipped {path}: {exc.reason}")
        return None
    except (ToolError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        warn(f"skipped {path}: {reason}")
        return None
    return _text(data)


def load_instructions(user_dir: Path, root: Path, workspace: Path, warn: Warn) -> str:
    """The user's and the project's AGENTS.md, most general first, each marked with where it came from.

    `root` is the project root (the git toplevel), `workspace` the folder kiri runs in (its AGENTS.md is read
    too when it is a subfolder of the root).
    """
    candidates: list[tuple[Path, Path | None]] = [(user_dir / NAME, None), (root / NAME, root)]
    if workspace != root:
        candidates.append((workspace / NAME, root))
    parts = []
    for path, confined_to in dict.fromkeys(candidates):
        text = _read(path, confined_to, warn)
        if text is not None:
            parts.append(f"# Instructions from {path}\n{text}")
    return "\n\n".join(parts)
