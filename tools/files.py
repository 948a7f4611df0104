"""File tools: read_file, write_file, edit_file."""

from __future__ import annotations

from tools.changes import write_changes
from tools.context import ToolContext, content_hash
from tools.errors import ToolError
from tools.limits import MAX_FILE_BYTES, check_file_size
from tools.textdiff import is_binary
from tools.truncate import cap_middle

MAX_LINE_CHARS = 2000
MAX_READ_CHARS = 25_000  # under the registry's cap, so paging notes are never cut off
DIFF_IN_RESULT_CHARS = 6_000


def read_file(ctx: ToolContext, path: str, offset: int = 1, limit: int = 2000) -> str:
    """Read a text file from the workspace; lines are numbered. Long files are shown a page at a time.

    Args:
        path: File path, relative to the workspace root.
        offset: Number of the first line to show (1-based).
        limit: Maximum number of lines to show.
    """
    if offset < 1 or limit < 1:
        raise ToolError("offset and limit must be at least 1")
    real = ctx.gate.resolve(path)
    rel = ctx.gate.relative(real)
    if real.is_dir():
        raise ToolError(f"{rel} is a directory; use list_dir to see what it holds")
    if not real.exists():
        raise ToolError(f"{rel}: no such file (use glob or list_dir to find the right path)")
    data = ctx.gate.read_bytes(real)  # refuses a file over MAX_FILE_BYTES before reading it
    ctx.remember(rel, data)
    if is_binary(data):
        return f"{rel}: binary file ({len(data)} bytes), not shown."
    if not data:
        return f"{rel}: empty file."
    try:
        text = data.decode("utf-8")
        note = ""
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", "replace")
        note = f"(not valid UTF-8 from byte {exc.start}; undecodable bytes are shown as \ufffd)\n"
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    total = len(lines)
    if offset > total:
        raise ToolError(f"offset {offset} is past the end of {rel} ({total} lines)")
    out: list[str] = []
    used = 0
    last = offset - 1
    for number in range(offset, min(total, offset + limit - 1) + 1):
        line = lines[number - 1].removesuffix("\r")
        if len(line) > MAX_LINE_CHARS:
            line = f"{line[:MAX_LINE_CHARS]}... [line cut, {len(line)} characters]"
        row = f"{number:6}\t{line}\n"
        if used + len(row) > MAX_READ_CHARS and out:
            break
        out.append(row)
        used += len(row)
        last = number
    if last < total:
        out.append(
            f"[showing lines {offset}-{last} of {total}; call read_file with offset={last + 1} to read on]\n"
        )
    return note + "".join(out)


def write_file(ctx: ToolContext, path: str, content: str) -> str:
    """Create a file, or overwrite one you have read in this session, with the given content.

    Parent directories are created. An existing file with CRLF line endings keeps them.

    Args:
        path: File path, relative to the workspace root.
        content: The complete new content of the file.
    """
    real = ctx.gate.resolve(path)
    rel = ctx.gate.relative(real)
    if real.is_dir():
        raise ToolError(f"{rel} is a directory")
    after = content.encode("utf-8")
    check_file_size(rel, len(after), MAX_FILE_BYTES)
    # The gate refuses to read an existing file over the limit: replacing it would keep its old bytes for undo.
    before = ctx.gate.read_bytes(real) if real.exists() else None
    if before is not None:
        seen = ctx.seen.get(rel)
        if seen is None:
            raise ToolError(
                f"{rel} exists and you have not read it in this session; read it with read_file first "
                "(or use edit_file for a targeted change)"
            )
        if seen != content_hash(before):
            raise ToolError(f"{rel} changed since you last read it; read it again before overwriting it")
        if _uses_crlf(before) and "\r\n" not in content:
            content = content.replace("\n", "\r\n")
            after = content.encode("utf-8")
    if after == before:
        return f"{rel} already has this content; nothing written."
    diff = write_changes(ctx, [(rel, before, after)])
    lines = content.count("\n") + (0 if content.endswith("\n") or not content else 1)
    if before is None:
        return f"Created {rel} ({lines} lines, {len(after)} bytes)."
    return f"Overwrote {rel} ({lines} lines, {len(after)} bytes).\n{cap_middle(diff, DIFF_IN_RESULT_CHARS)}"


def edit_file(ctx: ToolContext, path: str, old: str, new: str, replace_all: bool = False) -> str:
    """Replace an exact piece of text in a file. `old` must match exactly (whitespace included) and be unique
    unless replace_all is set; include enough surrounding lines to make it unique. The file's line endings
    and final newline are kept.

    Args:
        path: File path, relative to the workspace root.
        old: The exact text to replace.
        new: The text to put in its place.
        replace_all: Replace every occurrence instead of requiring exactly one.
    """
    if old == "":
        raise ToolError("old must not be empty; to create a file use write_file")
    if old == new:
        raise ToolError("old and new are the same; nothing to do")
    real = ctx.gate.resolve(path)
    rel = ctx.gate.relative(real)
    if not real.is_file():
        raise ToolError(f"{rel}: no such file" + (" (it is a directory)" if real.is_dir() else ""))
    data = ctx.gate.read_bytes(real)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolError(f"{rel} is not UTF-8 text (byte {exc.start}); edit_file works on text files") from exc
    crlf = _uses_crlf(data)
    old_n, new_n = (_to_crlf(old), _to_crlf(new)) if crlf else (old, new)
    count = text.count(old_n)
    if count == 0:
        raise ToolError(
            f"old text not found in {rel}{_near_miss_hint(text, old_n)}; read the file and copy it exactly"
        )
    if count > 1 and not replace_all:
        raise ToolError(
            f"old text appears {count} times in {rel} (lines {_match_lines(text, old_n)}); add surrounding "
            "lines to make it unique, or set replace_all"
        )
    updated = text.replace(old_n, new_n)
    updated = _keep_final_newline(text, updated, "\r\n" if crlf else "\n")
    after = updated.encode("utf-8")
    check_file_size(rel, len(after), MAX_FILE_BYTES)  # replace_all can grow a file past the limit
    if after == data:
        return f"{rel} is unchanged by this edit."
    diff = write_changes(ctx, [(rel, data, after)])
    return f"Edited {rel} ({count} replacement{'s' * (count > 1)}).\n{cap_middle(diff, DIFF_IN_RESULT_CHARS)}"


def _uses_crlf(data: bytes) -> bool:
    crlf = data.count(b"\r\n")
    return crlf > 0 and crlf >= data.count(b"\n") - crlf


def _to_crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _keep_final_newline(original: str, updated: str, eol: str) -> str:
    had = original.endswith("\n")
    if had and updated and not updated.endswith("\n"):
        return updated + eol
    if not had and updated.endswith("\n") and original:
        return updated.removesuffix("\n").removesuffix("\r")
    return updated


def _match_lines(text: str, needle: str, most: int = 10) -> str:
    found: list[str] = []
    start = text.find(needle)
    while start != -1 and len(found) < most:
        found.append(str(text.count("\n", 0, start) + 1))
        start = text.find(needle, start + 1)
    return ", ".join(found)


def _near_miss_hint(text: str, old: str) -> str:
    """Point at the likely cause when the model's text is close: indentation or trailing spaces."""
    squeeze = "\n".join(line.strip() for line in old.strip().splitlines())
    lines = text.splitlines()
    first = squeeze.split("\n", 1)[0]
    if not first:
        return ""
    for i, line in enumerate(lines):
        if line.strip() == first:
            window = "\n".join(x.strip() for x in lines[i : i + squeeze.count("\n") + 1])
            if window == squeeze:
                return f" (text matching except for whitespace/indentation starts at line {i + 1})"
            return f" (its first line appears at line {i + 1}, but the following lines differ)"
    return ""
