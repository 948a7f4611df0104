"""Rendering a loaded session for people (Markdown transcript) and for programs (complete JSON)."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime
from typing import Any

from .records import Message, SessionData, ToolRun
from .text import collapse_whitespace, quote_name, visible

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
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    # json escapes C0 controls but writes DEL and C1 (U+009B is CSI to some terminals) raw; they can only stand
    # inside strings, where the escape means the same character.
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_C1 = re.compile("[\x7f-\x9f]")
_INLINE_SPECIAL = re.compile(r"([\\<>&])")


def _fence(text: str, lang: str = "") -> str:
    """A fenced block that survives backticks inside ``text``."""
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text.rstrip(chr(10))}\n{ticks}"


def _code(value: Any) -> str:
    """An inline code span that nothing in ``value`` can leave: newlines quoted, backticks outrun."""
    text = quote_name(str(value))  # a blank line would end the paragraph, and the span with it
    ticks = "`"
    while ticks in text:
        ticks += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _inline(text: str) -> str:
    """One line of prose with raw HTML made inert (``<!--`` would hide the rest of the line)."""
    return _INLINE_SPECIAL.sub(r"\\\1", collapse_whitespace(text))


def _pretty_arguments(arguments: Any) -> str:
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    try:
        return json.dumps(json.loads(arguments), ensure_ascii=False, indent=2)
    except (ValueError, RecursionError):
        return arguments  # not JSON, or nested beyond what the decoder takes: show what the model sent


def _tool_call_lines(call: dict[str, Any], runs: dict[str, ToolRun]) -> list[str]:
    function = call.get("function", {})
    lines = [
        f"**Tool call** {_code(function.get('name', '?'))} (id {_code(call.get('id', '?'))})",
        "",
        _fence(_pretty_arguments(function.get("arguments", "")), "json"),
    ]
    run = runs.get(call.get("id", ""))
    if run is not None and run.duration_s is not None:
        failed = " — error (the result follows)" if run.error else ""
        lines += ["", f"_ran in {run.duration_s:.2f} s{failed}_"]
    return lines


def _message_lines(message: Message, runs: dict[str, ToolRun]) -> list[str]:
    if message.role == "tool":
        name = f", {_code(message.name)}" if message.name else ""
        heading = f"### tool result (id {_code(message.tool_call_id)}{name})"
    else:
        heading = f"### {message.role}"
    lines = [heading, ""]
    if message.content:
        # Every text fenced: a message that opens "<!--", "<details>" or a code block would otherwise hide
        # the tool calls, results and changes after it when the Markdown is rendered.
        lines += [_fence(message.content), ""]
    for call in message.tool_calls or []:
        lines += [*_tool_call_lines(call, runs), ""]
    return lines


def to_markdown(data: SessionData) -> str:
    """A readable transcript: header, messages with tool calls and results, then the file changes as diffs.

    Whatever the messages say, every tool call, result and change is visible when rendered: text is fenced,
    names are code spans, and control characters are shown (``^[``) rather than kept.
    """
    s = data.session
    lines = [
        f"# {_inline(s.title or 'Session ' + s.id)}",
        "",
        f"- id: `{s.id}`",
        f"- started: {s.created_at.isoformat(timespec='seconds')}",
        f"- project: {_code(s.project_dir)}",
        f"- backend / model: {_inline(s.backend)} / {_inline(s.model)}",
        f"- prompt: {_inline(s.prompt_name)} {_inline(s.prompt_version)}",
        f"- status: {_inline(s.status)}",
    ]
    if s.git_head:
        lines.append(f"- git head: {_code(s.git_head)}")
    if s.parent_id:
        lines.append(f"- forked from: `{s.parent_id}`")
    if s.usage:
        lines.append("- usage: " + _inline(", ".join(f"{k} {v}" for k, v in s.usage.items())))
    lines += ["", "## Transcript", ""]
    runs = {r.tool_call_id: r for r in data.tool_runs if r.tool_call_id}
    for message in data.messages:
        lines += _message_lines(message, runs)
    if data.file_changes:
        lines += ["## File changes", ""]
        for change in data.file_changes:
            note = " (undone)" if change.undone else ""
            lines += [f"### {_code(change.path)}{note}", "", _fence(change.diff, "diff"), ""]
    # Control characters shown, not sent: the transcript is read in terminals and renderers that drop them.
    return visible("\n".join(lines).rstrip("\n") + "\n")
