"""Text rendering for the non-interactive commands: session listings, transcripts, diffs, settings.

Every function returns a string. Colour is applied only when asked (``color=True``), with click's ANSI styling,
so piped output stays plain and nothing heavy is imported to list sessions. Stored text passes through
``visible`` before any styling: the only escape sequences in the result are the ones added here.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from memory.text import quote_name, visible

RESULT_LINES = 20  # tool results longer than this are cut in `agent show` unless --full
TITLE_MIN, TITLE_PIPED = 20, 60


def _style(text: str, color: bool, **kwargs: Any) -> str:
    return click.style(text, **kwargs) if color else text


def local_time(moment: datetime | None) -> str:
    """A stored (UTC) time as local ``YYYY-MM-DD HH:MM``."""
    return "-" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M")


def iso_time(moment: datetime | None) -> str | None:
    """A stored time as ISO 8601 with the local offset, for JSON output."""
    return None if moment is None else moment.astimezone().isoformat(timespec="seconds")


def home_abbrev(path: str) -> str:
    """``/home/me/src/x`` -> ``~/src/x``."""
    home = str(Path.home())
    if path == home:
        return "~"
    if home != "/" and path.startswith(home + "/"):
        return "~" + path[len(home) :]
    return path


def _cut_left(text: str, width: int) -> str:
    # Paths keep their informative end: "…/src/project".
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def short_id(session_id: str) -> str:
    """The first 8 hex digits, for messages about one session (listings use the store's unique prefix)."""
    return session_id[:8]


def session_dict(summary: Any) -> dict[str, Any]:
    """A session summary as the JSON object ``agent sessions --json`` prints."""
    return {
        "id": summary.id,
        "short_id": summary.short_id,
        "title": summary.title,
        "project_dir": summary.project_dir,
        "backend": summary.backend,
        "model": summary.model,
        "prompt_name": summary.prompt_name,
        "prompt_version": summary.prompt_version,
        "status": summary.status,
        "messages": summary.message_count,
        "created_at": iso_time(summary.created_at),
        "updated_at": iso_time(summary.updated_at),
    }


def sessions_table(summaries: Sequence[Any], *, color: bool, width: int | None = None) -> str:
    """The ``agent sessions`` table: aligned columns, the title last and cut to fit the terminal."""
    from memory.text import collapse_whitespace, truncate

    header = ["ID", "STARTED", "PROJECT", "MODEL", "PROMPT", "MSGS", "STATUS", "TITLE"]
    rows = [
        [
            s.short_id,
            local_time(s.created_at),
            visible(_cut_left(home_abbrev(s.project_dir), 32)),
            visible(s.model),
            visible(s.prompt_version),
            str(s.message_count),
            visible(s.status),
            visible(collapse_whitespace(s.title or "")),
        ]
        for s in summaries
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    used = sum(widths) + 2 * len(widths)
    if width is None:
        width = shutil.get_terminal_size((0, 0)).columns
    title_width = max(TITLE_MIN, width - used) if width else TITLE_PIPED
    status_colors = {"done": "green", "failed": "red", "error": "red", "interrupted": "yellow"}
    lines = []
    for index, row in enumerate([header, *rows]):
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)]
        title = row[-1] if index == 0 else truncate(row[-1], title_width) if row[-1] else ""
        if index == 0:
            lines.append(_style("  ".join([*cells, title]), color, bold=True))
            continue
        cells[0] = _style(cells[0], color, fg="cyan")
        cells[6] = _style(cells[6], color, fg=status_colors.get(row[6]))
        lines.append("  ".join([*cells, title]).rstrip())
    return "\n".join(lines)


def color_diff(diff: str, *, color: bool) -> str:
    """A unified diff with added lines green, removed red, hunk headers cyan (plain when colour is off)."""
    if not color:
        return visible(diff)
    out = []
    for line in visible(diff).split("\n"):
        if line.startswith(("+++", "---")):
            out.append(click.style(line, bold=True))
        elif line.startswith("+"):
            out.append(click.style(line, fg="green"))
        elif line.startswith("-"):
            out.append(click.style(line, fg="red"))
        elif line.startswith("@@"):
            out.append(click.style(line, fg="cyan"))
        else:
            out.append(line)
    return "\n".join(out)


def cut_lines(text: str, limit: int) -> str:
    """Keep the first ``limit`` lines and say how many were left out."""
    lines = text.splitlines()
    if len(lines) <= limit:
        return text
    return "\n".join(lines[:limit]) + f"\n… {len(lines) - limit} more lines (agent show --full)"


def _arguments(raw: Any) -> str:
    # Tool-call arguments are stored as the JSON text the model wrote; show them compactly when they parse.
    if isinstance(raw, str):
        try:
            return json.dumps(json.loads(raw), ensure_ascii=False)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the decoder goes
            return raw
    return json.dumps(raw, ensure_ascii=False)


def _rule(label: str, color: bool, fg: str) -> str:
    return _style(f"── {label} ", color, fg=fg, bold=True) + _style(
        "─" * max(4, 40 - len(label)), color, fg=fg
    )


def transcript(data: Any, *, color: bool, full: bool = False) -> str:
    """A readable session: header, every message, tool calls with arguments, results and the diffs they made."""
    s = data.session
    head = [
        _style(f"session {s.id}", color, bold=True),
        visible(f"title    {s.title or '-'}"),
        visible(
            f"project  {home_abbrev(s.project_dir)}" + (f"  (git {s.git_head[:10]})" if s.git_head else "")
        ),
        visible(f"model    {s.model} ({s.backend})   prompt {s.prompt_name} {s.prompt_version}"),
        visible(f"started  {local_time(s.created_at)}   status {s.status}   messages {s.message_count}"),
    ]
    if s.parent_id:
        head.append(f"forked   from {s.parent_id}")
    parts = ["\n".join(head)]

    runs = {run.tool_call_id: run for run in data.tool_runs}
    changes_by_run: dict[int | None, list[Any]] = {}
    for change in data.file_changes:
        changes_by_run.setdefault(change.tool_run_id, []).append(change)

    for message in data.messages:
        if message.role == "system" and not full:
            continue  # the rendered system prompt: long and the same in every session
        if message.role == "tool":
            run = runs.get(message.tool_call_id)
            label = visible(f"tool {message.name or (run.name if run else '')}".rstrip())
            if run is not None and run.duration_s is not None:
                label += f" ({run.duration_s:.2f} s)"
            body = visible(message.content or "")
            parts.append(
                _rule(label, color, "yellow") + "\n" + (body if full else cut_lines(body, RESULT_LINES))
            )
            if run is not None:
                parts.extend(_change(change, color) for change in changes_by_run.pop(run.id, []))
            continue
        fg = {"user": "blue", "assistant": "green", "system": "magenta"}.get(message.role, "white")
        lines = [_rule(message.role, color, fg)]
        if message.content:
            lines.append(visible(message.content))
        for call in message.tool_calls or []:
            function = call.get("function", {})
            arrow = _style("→", color, fg="yellow")
            called = f"{function.get('name')} {_arguments(function.get('arguments', ''))}"
            lines.append(f"{arrow} {visible(called)}")
        parts.append("\n".join(lines))

    leftover = [c for group in changes_by_run.values() for c in group]
    if leftover:
        parts.append(_rule("file changes", color, "cyan"))
        parts.extend(_change(c, color) for c in leftover)
    return "\n\n".join(parts)


def _change(change: Any, color: bool) -> str:
    note = "  (undone)" if change.undone else ""
    return (
        _style(f"{quote_name(change.path)}{note}", color, bold=True)
        + "\n"
        + color_diff(change.diff.rstrip("\n"), color=color)
    )


def settings_table(rows: Iterable[tuple[str, Any, str]], *, color: bool) -> str:
    """``agent config``: key, value, source."""
    rows = [(k, "-" if v is None else visible(_value(v)), visible(src)) for k, v, src in rows]
    kw = max(len(r[0]) for r in rows)
    vw = min(60, max(len(r[1]) for r in rows))
    out = [_style(f"{'KEY'.ljust(kw)}  {'VALUE'.ljust(vw)}  SOURCE", color, bold=True)]
    for key, value, source in rows:
        out.append(f"{key.ljust(kw)}  {value.ljust(vw)}  " + _style(source, color, dim=True))
    return "\n".join(out)


def _value(value: Any) -> str:
    if isinstance(value, tuple | list):
        return ", ".join(map(str, value)) or "(none)"
    if isinstance(value, Path):
        return home_abbrev(str(value))
    return str(value)


def settings_json(rows: Iterable[tuple[str, Any, str]]) -> dict[str, Any]:
    """``agent config --json``: {key: {"value": ..., "source": ...}}."""
    out = {}
    for key, value, source in rows:
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = {"value": value, "source": source}
    return out
