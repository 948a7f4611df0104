"""A small .gitignore matcher and the directory walker that list_dir, glob and search share.

Semantics follow git (and ripgrep, which search uses when it can): every `.gitignore` from the workspace
root down applies to its own directory, the last matching rule wins, `!` re-includes, a trailing `/` matches
directories only, a pattern with a `/` is anchored to its file's directory, `**` spans directories, and an
ignored directory is not entered. `.git` is always skipped; hidden files are listed; symlinks are reported
but never followed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

KeepFn = Callable[[str, bool, bool], bool]


@dataclass(frozen=True)
class Rule:
    """One pattern line, compiled; `base` is the workspace-relative directory of its .gitignore."""

    base: str
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool

    def matches(self, rel: str, is_dir: bool) -> bool:
        """Whether this rule's pattern matches the workspace-relative path."""
        if self.dir_only and not is_dir:
            return False
        if self.base:
            if not rel.startswith(self.base + "/"):
                return False
            rel = rel[len(self.base) + 1 :]
        return self.regex.match(rel) is not None


def compile_pattern(line: str, base: str = "") -> Rule | None:
    """Compile one gitignore line; None for blanks and comments."""
    line = line.rstrip("\n").rstrip("\r")
    stripped = re.sub(r"(?<!\\)\s+$", "", line)
    if not stripped or stripped.startswith("#"):
        return None
    negate = stripped.startswith("!")
    if negate:
        stripped = stripped[1:]
    dir_only = stripped.endswith("/")
    stripped = stripped.rstrip("/")
    if not stripped:
        return None
    anchored = "/" in stripped
    stripped = stripped.lstrip("/")
    body = _translate(stripped)
    prefix = "" if anchored else "(?:.*/)?"
    return Rule(base, re.compile(f"^{prefix}{body}$", re.DOTALL), negate, dir_only)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A path glob (`*` within a name, `**` across directories), anchored at the workspace root."""
    return re.compile(f"^{_translate(pattern.strip('/'))}$", re.DOTALL)


def _translate(pat: str) -> str:
    out: list[str] = []
    i, n = 0, len(pat)
    while i < n:
        c = pat[i]
        if pat.startswith("**", i) and (i == 0 or pat[i - 1] == "/"):
            if i + 2 == n:  # trailing "**": everything below
                out.append(".*")
                i += 2
                continue
            if pat[i + 2] == "/":  # "**/": zero or more directories
                out.append("(?:.*/)?")
                i += 3
                continue
        if c == "*":
            while i + 1 < n and pat[i + 1] == "*":
                i += 1
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pat.find("]", i + 2 if pat[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                inner = pat[i + 1 : end]
                if inner[:1] in ("!", "^"):
                    inner = "^" + inner[1:]
                out.append("[" + inner.replace("\\", "\\\\") + "]")
                i = end
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pat[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def load_rules(workspace: Path, rel_dir: str) -> list[Rule]:
    """The rules of `rel_dir/.gitignore` (empty when there is none or it cannot be read)."""
    path = workspace / rel_dir / ".gitignore" if rel_dir else workspace / ".gitignore"
    try:
        if path.is_symlink():
            return []  # never read through a link that may point outside the workspace
        text = path.read_text("utf-8", "replace")
    except OSError:
        return []
    rules = [compile_pattern(line, rel_dir) for line in text.splitlines()]
    return [r for r in rules if r is not None]


def is_ignored(rules: list[Rule], rel: str, is_dir: bool) -> bool:
    """Last matching rule wins; no match means not ignored."""
    for rule in reversed(rules):
        if rule.matches(rel, is_dir):
            return not rule.negate
    return False


@dataclass(frozen=True)
class Entry:
    """A walked path: relative to the workspace, with '/' separators."""

    rel: str
    is_dir: bool
    is_symlink: bool
    is_file: bool


def rules_above(workspace: Path, start: str) -> list[Rule]:
    """The rules in effect for the children of `start`: every .gitignore from the root down to it."""
    rules: list[Rule] = []
    parts = [p for p in start.split("/") if p and p != "."]
    for depth in range(len(parts) + 1):
        rules.extend(load_rules(workspace, "/".join(parts[:depth])))
    return rules


def walk(
    workspace: Path,
    start: str = "",
    *,
    max_depth: int | None = None,
    keep: KeepFn | None = None,
) -> Iterator[Entry]:
    """Yield the non-ignored entries under `start` (workspace-relative), depth first, sorted by name.

    `keep(rel, is_dir, ignored) -> bool` may override the ignore decision (search's glob filter uses it).
    """
    start = "" if start in ("", ".") else start.strip("/")
    stack: list[tuple[str, list[Rule], int]] = [(start, rules_above(workspace, start), 1)]
    while stack:
        rel_dir, rules, depth = stack.pop()
        try:
            with os.scandir(workspace / rel_dir if rel_dir else workspace) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue  # unreadable or vanished directory: skip it, as git and ripgrep do
        below: list[tuple[str, list[Rule], int]] = []
        for e in entries:
            if e.name == ".git":
                continue
            rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
            link = e.is_symlink()
            is_dir = not link and e.is_dir(follow_symlinks=False)
            ignored = is_ignored(rules, rel, is_dir)
            if keep is not None:
                if not keep(rel, is_dir, ignored):
                    continue
            elif ignored:
                continue
            yield Entry(rel, is_dir, link, not link and e.is_file(follow_symlinks=False))
            if is_dir and (max_depth is None or depth < max_depth):
                below.append((rel, rules + load_rules(workspace, rel), depth + 1))
        stack.extend(reversed(below))
