"""Rendering a loaded session for people (Markdown transcript) and for programs (complete JSON)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from .records import Message, SessionData, ToolRun

EXPORT_FORMAT = "kiri-session"
EXPORT_VERSION = 1


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _record(obj: Any) -> dict[str, Any]:
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def to_json(data: SessionData) -> str:
    """Everything stored about the session: its fields, messages, tool runs and file changes with diffs.

    File snapshots are referenced by hash (``Store.get_blob``), not inlined.
    """
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "session": _record(data.session),
        "messages": [_record(m) for m in data.messages],
        "tool_runs": [_record(r) for r in data.tool_runs],
        "file_changes": [_record(c) for c in data.file_changes],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _fence(text: str, lang: str = "") -> str:
    """A fenced block that survives backticks inside ``text``."""
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text.rstrip(chr(10))}\n{ticks}"


def _tool_call_lines(call: dict[str, Any], runs: dict[str, ToolRun]) -> list[str]:
    function = call.get("function", {})
    arguments = function.get("arguments", "")
    try:
        arguments = json.dumps(json.loads(arguments), ensure_ascii=False, indent=2)
    except (TypeError, ValueError):
        pass  # not JSON: show what the model sent
    lines = [
        f"**Tool call** `{function.get('name', '?')}` (id `{call.get('id', '?')}`)",
        "",
        _fence(arguments, "json"),
    ]
    run = runs.get(call.get("id", ""))
    if run is not None and run.duration_s is not None:
        lines += ["", f"_ran in {run.duration_s:.2f} s{' — error: ' + run.error if run.error else ''}_"]
    return lines


def _message_lines(message: Message, runs: dict[str, ToolRun]) -> list[str]:
    if message.role == "tool":
        heading = (
            f"### tool result (id `{message.tool_call_id}`{', ' + message.name if message.name else ''})"
        )
    else:
        heading = f"### {message.role}"
    lines = [heading, ""]
    if message.content:
        lines += [_fence(message.content) if message.role in ("tool", "system") else message.content, ""]
    for call in message.tool_calls or []:
        lines += [*_tool_call_lines(call, runs), ""]
    return lines


def to_markdown(data: SessionData) -> str:
    """A readable transcript: header, messages with tool calls and results, then the file changes as diffs."""
    s = data.session
    lines = [
        f"# {s.title or 'Session ' + s.id}",
        "",
        f"- id: `{s.id}`",
        f"- started: {s.created_at.isoformat(timespec='seconds')}",
        f"- project: `{s.project_dir}`",
        f"- backend / model: {s.backend} / {s.model}",
        f"- prompt: {s.prompt_name} {s.prompt_version}",
        f"- status: {s.status}",
    ]
    if s.git_head:
        lines.append(f"- git head: `{s.git_head}`")
    if s.parent_id:
        lines.append(f"- forked from: `{s.parent_id}`")
    if s.usage:
        lines.append("- usage: " + ", ".join(f"{k} {v}" for k, v in s.usage.items()))
    lines += ["", "## Transcript", ""]
    runs = {r.tool_call_id: r for r in data.tool_runs if r.tool_call_id}
    for message in data.messages:
        lines += _message_lines(message, runs)
    if data.file_changes:
        lines += ["## File changes", ""]
        for change in data.file_changes:
            note = " (undone)" if change.undone else ""
            lines += [f"### `{change.path}`{note}", "", _fence(change.diff, "diff"), ""]
    return "\n".join(lines).rstrip("\n") + "\n"
