"""The search tool: regex search over the workspace with ripgrep, or a pure-Python walk that finds the same.

Both engines share the rules: .gitignore files from the workspace root down are respected, hidden files are
searched, .git is skipped, symlinks are not followed, files with a NUL byte are treated as binary and
skipped, lines are matched one at a time, and a `glob` filter works like ripgrep's `--glob` (a file that
matches it is searched even if ignored; `!pattern` excludes). Results are sorted by path, then line.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import stat
import subprocess
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from memory.text import quote_name
from tools.context import ToolContext
from tools.errors import ToolError
from tools.ignore import KeepFn, compile_pattern, walk
from tools.limits import MAX_FILE_BYTES
from tools.secrets import Secrets

MAX_ROWS = 250
MAX_LINE_CHARS = 300
TIMEOUT_S = 120
Engine = Literal["auto", "rg", "python"]

RG_FLAGS = (
    "--no-config",
    "--heading",
    "--with-filename",
    "--null",
    "--line-number",
    "--color=never",
    "--hidden",
    "--no-require-git",
    "--no-ignore-dot",
    "--no-ignore-exclude",
    "--no-ignore-global",
    "--glob=!.git",
    # The same size policy as the file tools. (A walk only opens regular files; search() refuses a special
    # file named explicitly, which ripgrep would read until the timeout.)
    f"--max-filesize={MAX_FILE_BYTES}",
)


@dataclass
class FileHits:
    """Rows of one file: (line number, is a match (not context), text)."""

    path: str
    rows: list[tuple[int, bool, str]] = field(default_factory=list)


@dataclass
class Outcome:
    """Sorted results: `files` holds at least the first `max_rows` rows; the totals count everything."""

    files: list[FileHits]
    total_matches: int
    total_files: int
    context: int = 0
    warning: str = ""


@functools.cache
def find_rg() -> str | None:
    """The ripgrep binary: on PATH, or beside this Python's scripts (where the `ripgrep` wheel puts it)."""
    found = shutil.which("rg")
    if found:
        return found
    candidate = Path(sysconfig.get_path("scripts")) / "rg"
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


def search(
    ctx: ToolContext,
    pattern: str,
    path: str = ".",
    glob: str | None = None,
    ignore_case: bool = False,
    context: int = 0,
) -> str:
    """Search file contents with a regular expression (ripgrep syntax). Prints `path:line: text` for each
    matching line (and `path-line- text` for context lines), sorted by path.

    Args:
        pattern: Regular expression to look for, e.g. `def \\w+_handler` or `TODO`.
        path: File or directory to search, relative to the workspace root.
        glob: Only search files matching this glob, e.g. `*.py` or `src/**/*.ts`; `!*.md` excludes.
        ignore_case: Match without regard to case.
        context: Lines of context to show before and after each match (0-10).
    """
    if not pattern:
        raise ToolError("empty pattern")
    if not 0 <= context <= 10:
        raise ToolError("context must be between 0 and 10")
    real = ctx.gate.resolve(path)
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        raise ToolError(f"{path}: no such file or directory") from None
    rel = ctx.gate.relative(real)
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise ToolError(f"{rel} is not a regular file or directory (a FIFO, socket or device); not searched")
    outcome = grep(
        ctx.gate.workspace,
        pattern,
        rel,
        glob=glob,
        ignore_case=ignore_case,
        context=context,
        secrets=ctx.secrets,
    )
    return format_outcome(outcome, pattern)


def grep(
    workspace: Path,
    pattern: str,
    rel: str = ".",
    *,
    glob: str | None = None,
    ignore_case: bool = False,
    context: int = 0,
    max_rows: int = MAX_ROWS,
    engine: Engine = "auto",
    secrets: Secrets | None = None,
) -> Outcome:
    """Search `rel` (workspace-relative, already confined) with the chosen engine; ripgrep gets our
    environment without `secrets`."""
    rg = find_rg() if engine != "python" else None
    if engine == "rg" and rg is None:
        raise ToolError("ripgrep (rg) is not installed")
    if rg is not None:
        env = (secrets or Secrets()).child_env()
        return _grep_rg(rg, workspace, pattern, rel, glob, ignore_case, context, max_rows, env)
    return _grep_python(workspace, pattern, rel, glob, ignore_case, context)


def rg_command(
    rg: str, pattern: str, rel: str, glob: str | None, ignore_case: bool, context: int
) -> list[str]:
    """The exact ripgrep command line the tool runs (the benchmark runs it too)."""
    cmd = [rg, *RG_FLAGS]
    if glob:
        cmd.append(f"--glob={glob}")
    if ignore_case:
        cmd.append("--ignore-case")
    if context:
        cmd.append(f"--context={context}")
    return [*cmd, "--regexp", pattern, "--", rel]


_ROW_START = re.compile(rb"[\n\0]\d+:")


def _grep_rg(
    rg: str,
    workspace: Path,
    pattern: str,
    rel: str,
    glob: str | None,
    ignore_case: bool,
    context: int,
    max_rows: int,
    env: dict[str, str],
) -> Outcome:
    cmd = rg_command(rg, pattern, rel, glob, ignore_case, context)
    try:
        # ripgrep runs no repository code, but RIPGREP_CONFIG_PATH can name a --pre preprocessor: keep keys out.
        proc = subprocess.run(
            cmd,
            cwd=workspace,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=TIMEOUT_S,
            env=env,
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"search took over {TIMEOUT_S}s; narrow the path, glob or pattern") from exc
    err = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode == 2 and not proc.stdout:
        raise ToolError(
            f"search failed: {err.splitlines()[-1] if err else 'ripgrep error'}"
            + (f"\n{err}" if "regex" in err else "")
        )
    out = proc.stdout
    if not out:
        return Outcome([], 0, 0, context)
    # one block per file, separated by a blank line (no row is empty: each starts with its line number);
    # parsing only the blocks that will be shown keeps large result sets cheap
    blocks = out.rstrip(b"\n").split(b"\n\n")
    keyed = sorted((_strip_dot(b[: b.index(b"\0")].decode("utf-8", "replace")), b) for b in blocks)
    files: list[FileHits] = []
    rows = 0
    for path, block in keyed:
        if rows >= max_rows:
            break
        hits = FileHits(path)
        for line in block[block.index(b"\0") + 1 :].split(b"\n"):
            m = re.match(rb"(\d+)([:-])", line)
            if m:  # "--" group separators are rebuilt by the formatter
                text = line[m.end() :].decode("utf-8", "replace")
                hits.rows.append((int(m.group(1)), m.group(2) == b":", text))
        rows += len(hits.rows)
        files.append(hits)
    warning = "some files could not be read" if proc.returncode == 2 else ""
    return Outcome(files, len(_ROW_START.findall(out)), len(blocks), context, warning)


def _strip_dot(path: str) -> str:
    return path[2:] if path.startswith("./") else path


def _grep_python(
    workspace: Path, pattern: str, rel: str, glob: str | None, ignore_case: bool, context: int
) -> Outcome:
    try:
        regex = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise ToolError(f"invalid regular expression: {exc}") from exc
    root = workspace / rel if rel != "." else workspace
    if root.is_file():
        paths = [rel]
    else:
        keep = _glob_filter(glob) if glob else None
        start = "" if rel == "." else rel
        paths = [e.rel for e in walk(workspace, start, keep=keep) if e.is_file]
    files: list[FileHits] = []
    total = 0
    for p in sorted(paths):
        hits = _search_file(workspace / p, p, regex, context)
        if hits is not None and hits.rows:
            files.append(hits)
            total += sum(1 for _, is_match, _ in hits.rows if is_match)
    return Outcome(files, total, len(files), context)


def _glob_filter(glob: str) -> KeepFn:
    negate = glob.startswith("!")
    rule = compile_pattern(glob[1:] if negate else glob)
    if rule is None:
        raise ToolError(f"invalid glob {glob!r}")

    def keep(rel: str, is_dir: bool, ignored: bool) -> bool:
        matched = rule.matches(rel, is_dir)
        if negate:
            return not matched and not ignored
        if matched:
            return True  # like ripgrep: an explicit include overrides .gitignore
        return is_dir and not ignored

    return keep


def _search_file(path: Path, rel: str, regex: re.Pattern[str], context: int) -> FileHits | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
                return None  # skipped like ripgrep does: special files, and files over --max-filesize
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None
    if b"\0" in data:
        return None
    lines = data.decode("utf-8", "replace").split("\n")
    if lines[-1] == "":
        lines.pop()
    matches = [i for i, line in enumerate(lines) if regex.search(line)]
    hits = FileHits(rel)
    if not context:
        hits.rows = [(i + 1, True, lines[i]) for i in matches]
        return hits
    wanted: dict[int, bool] = {}
    for i in matches:
        for j in range(max(0, i - context), min(len(lines), i + context + 1)):
            wanted.setdefault(j, False)
        wanted[i] = True
    hits.rows = [(j + 1, wanted[j], lines[j]) for j in sorted(wanted)]
    return hits


def format_outcome(outcome: Outcome, pattern: str, max_rows: int = MAX_ROWS) -> str:
    """`path:line: text` rows, `--` between separate groups, and a count of what was left out."""
    if not outcome.files:
        return f"No matches for {pattern!r}."
    out: list[str] = []
    shown_rows = shown_matches = shown_files = 0
    for hits in outcome.files:
        if shown_rows >= max_rows:
            break
        shown_files += 1
        path = quote_name(hits.path)  # a newline in a name must not fake a row of its own
        prev = None
        for number, is_match, text in hits.rows:
            if shown_rows >= max_rows:
                break
            if (prev is None and out and outcome.context) or (prev is not None and number != prev + 1):
                out.append("--")
            text = text.removesuffix("\r")
            if len(text) > MAX_LINE_CHARS:
                text = text[:MAX_LINE_CHARS] + f"... [{len(text)} characters]"
            sep = ":" if is_match else "-"
            out.append(f"{path}{sep}{number}{sep} {text}")
            prev = number
            shown_rows += 1
            shown_matches += is_match
    left = outcome.total_matches - shown_matches
    summary = f"[{_count(outcome.total_matches, 'match', 'matches')} in {_count(outcome.total_files, 'file', 'files')}"
    if left > 0:
        summary += (
            f"; {_count(left, 'more match', 'more matches')} not shown - narrow the path, glob or pattern"
        )
    if outcome.warning:
        summary += f"; {outcome.warning}"
    out.append(summary + "]")
    return "\n".join(out)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
