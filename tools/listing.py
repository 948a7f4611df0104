"""Directory tools: list_dir and glob (both skip .git and what .gitignore ignores)."""

from __future__ import annotations

import os
import re

from memory.text import quote_name
from tools.context import ToolContext
from tools.errors import PermissionDenied, ToolError
from tools.ignore import Entry, glob_regex, walk

MAX_ENTRIES = 500
MAX_COUNTED = 20_000  # beyond this the count of what was left out is given as "more than"
_MAGIC = re.compile(r"[*?\[]")


def list_dir(ctx: ToolContext, path: str = ".", depth: int = 2) -> str:
    """List a directory as an indented tree (directories end in '/'), skipping .git and ignored files.

    Args:
        path: Directory, relative to the workspace root.
        depth: How many levels to show (1 lists only the directory's own entries).
    """
    if not 1 <= depth <= 10:
        raise ToolError("depth must be between 1 and 10")
    real = ctx.gate.resolve(path)
    rel = ctx.gate.relative(real)
    if not real.is_dir():
        raise ToolError(f"{rel} is not a directory" + ("" if real.exists() else " (it does not exist)"))
    shown: list[Entry] = []
    left_out = 0
    for entry in walk(ctx.gate.workspace, "" if rel == "." else rel, max_depth=depth):
        if len(shown) < MAX_ENTRIES:
            shown.append(entry)
        else:
            left_out += 1
            if left_out >= MAX_COUNTED:
                break
    if not shown:
        return f"{rel}/ is empty (or everything in it is ignored)."
    base = 0 if rel == "." else rel.count("/") + 1
    lines = [quote_name(f"{rel}/")]
    for entry in sorted(shown, key=lambda e: e.rel.split("/")):
        level = entry.rel.count("/") - base + 1
        lines.append("  " * level + _label(ctx, entry))
    if left_out:
        more = f"more than {left_out}" if left_out >= MAX_COUNTED else str(left_out)
        lines.append(f"[{more} more entries not shown; list a subdirectory or use a smaller depth]")
    return "\n".join(lines)


def glob(ctx: ToolContext, pattern: str) -> str:
    """Find files by path pattern, matched from the workspace root: `*` stays within one directory, `**`
    spans any number of them (e.g. `**/*.py`, `src/**/test_*.py`). Ignored files and .git are skipped.

    Args:
        pattern: Glob pattern relative to the workspace root.
    """
    pattern = pattern.strip()
    while pattern.startswith("./"):
        pattern = pattern[2:]
    _check_pattern(pattern)
    parts = pattern.split("/")
    fixed = []
    for part in parts[:-1]:
        if _MAGIC.search(part):
            break
        fixed.append(part)
    start = "/".join(fixed)
    real = ctx.gate.resolve(start or ".")  # even the root goes through the gate
    if not real.is_dir():
        return f"No files match {pattern} ({start} is not a directory)."
    if start:
        start = ctx.gate.relative(real)
        pattern = "/".join([start, *parts[len(fixed) :]])
    max_depth = None if "**" in pattern else len(parts) - len(fixed)
    regex = glob_regex(pattern)
    found = [e for e in walk(ctx.gate.workspace, start, max_depth=max_depth) if regex.match(e.rel)]
    if not found:
        hint = ""
        if "/" not in pattern and "**" not in pattern:
            hint = f" (patterns match from the workspace root; try **/{pattern} to look in all directories)"
        return f"No files match {pattern}{hint}."
    found.sort(key=lambda e: e.rel)
    lines = [quote_name(e.rel + ("/" if e.is_dir else "")) for e in found[:MAX_ENTRIES]]
    if len(found) > MAX_ENTRIES:
        lines.append(f"[{len(found) - MAX_ENTRIES} more matches not shown; use a narrower pattern]")
    return "\n".join(lines)


def _check_pattern(pattern: str) -> None:
    if not pattern:
        raise ToolError("empty pattern; e.g. **/*.py")
    if "\0" in pattern:
        raise PermissionDenied("pattern contains a NUL byte")
    if pattern.startswith(("/", "~")) or os.path.isabs(pattern):
        raise PermissionDenied(f"{pattern}: glob patterns are relative to the workspace root")
    if ".." in pattern.split("/"):
        raise PermissionDenied(f"{pattern}: '..' would leave the workspace")


def _label(ctx: ToolContext, entry: Entry) -> str:
    # Quoted like git: a newline in a name would otherwise start a line that looks like another entry.
    name = entry.rel.rsplit("/", 1)[-1]
    if entry.is_symlink:
        try:
            return f"{quote_name(name)} -> {quote_name(os.readlink(ctx.gate.workspace / entry.rel))}"
        except OSError:
            return f"{quote_name(name)} -> ?"
    return quote_name(name + ("/" if entry.is_dir else ""))
