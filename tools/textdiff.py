"""Unified diffs of file contents, in the form git prints them (so `apply_patch` can read them back)."""

from __future__ import annotations

import difflib

NO_NEWLINE = "\\ No newline at end of file\n"


def is_binary(data: bytes) -> bool:
    """Treat content with a NUL byte in its first 8 KiB as binary, as git and ripgrep do."""
    return b"\0" in data[:8192]


def unified_diff(path: str, before: bytes | None, after: bytes | None, context: int = 3) -> str:
    """A git-style unified diff of one file; None stands for a file that does not exist.

    Lines keep their own endings (a CRLF file shows `\\r\\n`), and a missing final newline is marked with
    `\\ No newline at end of file` so the diff applies back exactly.
    """
    if before == after:
        return ""
    old_name = f"a/{path}" if before is not None else "/dev/null"
    new_name = f"b/{path}" if after is not None else "/dev/null"
    if is_binary(before or b"") or is_binary(after or b""):
        return f"Binary files {old_name} and {new_name} differ\n"
    old = _lines(before)
    new = _lines(after)
    out: list[str] = []
    for line in difflib.unified_diff(old, new, old_name, new_name, n=context):
        if line.startswith(("---", "+++")) and len(out) < 2:
            out.append(line.rstrip("\n") + "\n")
            continue
        out.append(line if line.endswith("\n") else line + "\n" + NO_NEWLINE)
    return "".join(out)


def _lines(data: bytes | None) -> list[str]:
    if not data:
        return []
    # keepends on "\n" only: "\r" stays part of the line, so CRLF files diff and re-apply byte for byte
    return split_lines(data.decode("utf-8", "replace"))


def split_lines(text: str) -> list[str]:
    """Split after each "\\n" only (str.splitlines would also split on \\r, \\f, U+2028 ...)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines
