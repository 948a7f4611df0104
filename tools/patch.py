"""The apply_patch tool: a unified diff over one or more files, applied all or nothing."""

from __future__ import annotations

from unidiff import PatchedFile, PatchSet
from unidiff.errors import UnidiffParseError
from unidiff.patch import Hunk

from tools.changes import Change, write_changes
from tools.context import ToolContext
from tools.errors import ToolError
from tools.limits import check_file_size
from tools.textdiff import split_lines

NO_NEWLINE = "\\"


def apply_patch(ctx: ToolContext, patch: str) -> str:
    """Apply a unified diff (as `git diff` or `diff -u` print it) to one or more files. Every hunk must match
    the files exactly (context lines included; a hunk may sit at a different line number than its header
    says); if any hunk fails, nothing is changed. `/dev/null` as the old name creates a file, as the new name
    deletes one.

    Args:
        patch: The unified diff text, with `--- a/path` / `+++ b/path` headers and `@@` hunks.
    """
    try:
        files = PatchSet.from_string(patch)
    except UnidiffParseError as exc:
        raise ToolError(f"could not parse the patch: {exc} (check the @@ line counts)") from exc
    if not files:
        raise ToolError("no file changes found; expected `--- a/path`, `+++ b/path` and `@@ ... @@` hunks")
    planned: dict[str, bytes | None] = {}  # state after the earlier parts of this patch
    originals: dict[str, bytes | None] = {}
    for pf in files:
        if pf.is_binary_file:
            raise ToolError(f"{pf.path}: binary patches are not supported; use write_file")
        old_name, new_name = _names(pf)
        src = _rel(ctx, old_name) if old_name else None
        dst = _rel(ctx, new_name) if new_name else None
        for rel in (src, dst):
            if rel is not None and rel not in planned:
                planned[rel] = originals[rel] = _current(ctx, rel)
        if src is None:  # creation
            assert dst is not None
            if planned[dst] is not None:
                raise ToolError(f"the patch creates {dst}, but it already exists")
            before = b""
        else:
            before = planned[src]
            if before is None:
                raise ToolError(f"the patch changes {src}, but it does not exist")
        after = _apply_file(pf, before, src or dst or "")
        check_file_size(dst or src or "", len(after))
        if dst is None:
            if after:
                raise ToolError(f"the patch deletes {src}, but the file holds more than the patch removes")
            planned[src or ""] = None
        else:
            if src is not None and src != dst:
                planned[src] = None  # a rename
            planned[dst] = after
    changes: list[Change] = [
        (rel, originals[rel], data) for rel, data in planned.items() if data != originals[rel]
    ]
    if not changes:
        return "The patch changes nothing."
    write_changes(ctx, changes)
    summary = ", ".join(f"{rel} ({_verb(before, after)})" for rel, before, after in changes)
    return f"Applied the patch: {summary}."


def _verb(before: bytes | None, after: bytes | None) -> str:
    return "created" if before is None else "deleted" if after is None else "modified"


def _names(pf: PatchedFile) -> tuple[str | None, str | None]:
    """Old and new names without git's a/ b/ prefixes; None for /dev/null."""
    src = None if pf.is_added_file or pf.source_file == "/dev/null" else pf.source_file
    dst = None if pf.is_removed_file or pf.target_file == "/dev/null" else pf.target_file
    git_style = (src is None or src.startswith("a/")) and (dst is None or dst.startswith("b/"))
    if git_style:
        src = src[2:] if src else src
        dst = dst[2:] if dst else dst
    return src, dst


def _rel(ctx: ToolContext, name: str) -> str:
    return ctx.gate.relative(ctx.gate.resolve(name))


def _current(ctx: ToolContext, rel: str) -> bytes | None:
    real = ctx.gate.resolve(rel)
    if real.is_dir():
        raise ToolError(f"{rel} is a directory")
    return ctx.gate.read_bytes(real) if real.exists() else None


def _apply_file(pf: PatchedFile, data: bytes, rel: str) -> bytes:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolError(f"{rel} is not UTF-8 text; apply_patch works on text files") from exc
    lines = split_lines(text)
    crlf = sum(line.endswith("\r\n") for line in lines) * 2 > len(lines)
    eol = "\r\n" if crlf else "\n"
    out: list[str] = []
    pos = 0
    markers = False
    for number, hunk in enumerate(pf, 1):
        old = [_bare(line.value) for line in hunk if line.is_context or line.is_removed]
        at = _locate(lines, old, pos, _expected_index(hunk))
        if at is None:
            raise ToolError(_failure_report(pf, rel, number, hunk, lines, old))
        out.extend(lines[pos:at])
        k = at
        hunk_lines = list(hunk)
        for j, line in enumerate(hunk_lines):
            follows_marker = j + 1 < len(hunk_lines) and hunk_lines[j + 1].line_type == NO_NEWLINE
            markers = markers or line.line_type == NO_NEWLINE
            if line.is_context:
                out.append(lines[k])
                k += 1
            elif line.is_removed:
                k += 1
            elif line.is_added:
                out.append(_bare(line.value) + ("" if follows_marker else eol))
        pos = k
    out.extend(lines[pos:])
    # a line that lost its place at the end must get an ending; an unmarked patch keeps the old final newline
    for i in range(len(out) - 1):
        if not out[i].endswith("\n"):
            out[i] += eol
    if out and not markers and text and not text.endswith("\n"):
        out[-1] = _bare(out[-1])
    return "".join(out).encode("utf-8")


def _bare(value: str) -> str:
    return value.removesuffix("\n").removesuffix("\r")


def _expected_index(hunk: Hunk) -> int:
    # a hunk with no old lines inserts *after* line source_start
    return hunk.source_start if hunk.source_length == 0 else max(hunk.source_start - 1, 0)


def _locate(lines: list[str], old: list[str], pos: int, expected: int) -> int | None:
    """The index where `old` matches exactly, nearest to where the header says, not before `pos`."""
    last = len(lines) - len(old)
    if last < pos:
        return None
    if not old:
        return min(max(expected, pos), len(lines))
    first = old[0]
    for delta in range(0, max(expected - pos, last - expected) + 1):
        for i in (expected - delta, expected + delta) if delta else (expected,):
            if (
                pos <= i <= last
                and _bare(lines[i]) == first
                and all(_bare(lines[i + j]) == old[j] for j in range(1, len(old)))
            ):
                return i
    return None


def _failure_report(
    pf: PatchedFile, rel: str, number: int, hunk: Hunk, lines: list[str], old: list[str]
) -> str:
    header = f"@@ -{hunk.source_start},{hunk.source_length} +{hunk.target_start},{hunk.target_length} @@"
    report = [
        f"hunk {number} of {len(pf)} for {rel} ({header}) does not apply; no file was changed.",
        "The hunk expects these lines (context and removed):",
        *(f"    {line}" for line in old[:20]),
    ]
    start = _expected_index(hunk)
    where = next((i for i, line in enumerate(lines) if old and _bare(line) == old[0]), None)
    if where is not None:
        start = where
        report.append(f"Its first line is at line {where + 1}; the file there reads:")
    else:
        report.append(f"Its first line is not in the file; the file near line {start + 1} reads:")
    for i in range(max(start, 0), min(start + max(len(old), 1), len(lines))):
        report.append(f"{i + 1:6}  {_bare(lines[i])}")
    report.append("Read the file again and make the patch from its current content.")
    return "\n".join(report)
