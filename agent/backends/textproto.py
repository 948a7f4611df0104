"""The text tool-call protocol, for models and servers without native tool calling.

The system prompt describes the tools and asks the model to write calls as::

    <tool_call>{"name": "read_file", "arguments": {"path": "app.py"}}</tool_call>

This module turns OpenAI-format history into that form (``to_text_messages``), hides call blocks from the
streamed answer (``StreamSplitter``) and parses them back into ``ToolCall`` events (``parse_tool_calls``).
Malformed blocks become ``ToolCall`` events with ``error`` set, so the loop can tell the model what was wrong.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from agent.backends.base import ToolCall

OPEN = "<tool_call>"
CLOSE = "</tool_call>"
_BLOCK = re.compile(re.escape(OPEN) + r"(.*?)" + re.escape(CLOSE), re.DOTALL)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)
EXAMPLE = '<tool_call>{"name": "TOOL_NAME", "arguments": {"ARG": "VALUE"}}</tool_call>'


def new_call_id() -> str:
    """A fresh id in the OpenAI style, so text-protocol calls are stored like native ones."""
    return "call_" + uuid.uuid4().hex[:24]


def describe_tools(tools: list[dict[str, Any]]) -> str:
    """Describe ``tools`` (OpenAI ``tools=[...]`` format) and the call syntax, for the system prompt."""
    lines = [
        "# Tools",
        "You can call tools. To call one, write a block exactly like this (JSON inside, nothing else):",
        EXAMPLE,
        "You may write several blocks in one answer; they run in order. After your blocks, stop and wait: the",
        "results come back in the next message inside <tool_result> blocks. Answer without any block when done.",
        "",
        "Available tools (JSON schema of the arguments):",
    ]
    for tool in tools:
        fn = tool.get("function", tool)
        params = json.dumps(fn.get("parameters", {}), separators=(",", ":"), sort_keys=True)
        lines.append(f"- {fn['name']}: {fn.get('description', '').strip()}")
        lines.append(f"  arguments: {params}")
    return "\n".join(lines)


def format_call(name: str, arguments: str) -> str:
    """Render one call as the model should have written it (used when replaying history)."""
    try:
        args: Any = json.loads(arguments) if arguments else {}
    except (ValueError, RecursionError):
        args = arguments  # replay what the model wrote, even if it was broken
    return OPEN + json.dumps({"name": name, "arguments": args}, ensure_ascii=False) + CLOSE


def to_text_messages(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rewrite native tool-calling history into plain chat messages for the text protocol.

    The first system message gets the tool description appended; assistant tool calls become blocks in the
    assistant's text; consecutive tool results become one user message of ``<tool_result>`` blocks.
    """
    out: list[dict[str, Any]] = []
    described = not tools
    for msg in messages:
        role = msg["role"]
        if role == "system" and not described:
            out.append(
                {"role": "system", "content": f"{msg.get('content') or ''}\n\n{describe_tools(tools)}"}
            )
            described = True
        elif role == "assistant" and msg.get("tool_calls"):
            blocks = [
                format_call(c["function"]["name"], c["function"]["arguments"]) for c in msg["tool_calls"]
            ]
            text = "\n".join(filter(None, [msg.get("content") or "", *blocks]))
            out.append({"role": "assistant", "content": text})
        elif role == "tool":
            block = f'<tool_result name="{msg.get("name", "")}">\n{msg.get("content") or ""}\n</tool_result>'
            if out and out[-1]["role"] == "user" and out[-1].get("_tool_results"):
                out[-1]["content"] += "\n" + block
            else:
                out.append({"role": "user", "content": block, "_tool_results": True})
        else:
            out.append({k: v for k, v in msg.items() if k in ("role", "content", "name")})
    if not described:
        out.insert(0, {"role": "system", "content": describe_tools(tools)})
    for msg in out:
        msg.pop("_tool_results", None)
    return out


def _parse_block(body: str) -> ToolCall:
    body = body.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    hint = f"Write tool calls exactly as {EXAMPLE}"
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        return ToolCall(
            new_call_id(), "", body, error=f"malformed <tool_call> block: invalid JSON ({exc}). {hint}"
        )
    except RecursionError:
        return ToolCall(
            new_call_id(), "", body, error=f"malformed <tool_call> block: nested too deeply. {hint}"
        )
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
        return ToolCall(new_call_id(), "", body, error=f'malformed <tool_call> block: no "name". {hint}')
    args = data.get("arguments", {})
    if isinstance(args, str):
        # Some models double-encode the arguments; pass the string on and let the registry validate it.
        return ToolCall(new_call_id(), data["name"], args)
    if not isinstance(args, dict):
        return ToolCall(
            new_call_id(), data["name"], json.dumps(args), error=f'"arguments" must be a JSON object. {hint}'
        )
    return ToolCall(new_call_id(), data["name"], json.dumps(args, ensure_ascii=False))


@dataclass
class Parsed:
    """The visible text with blocks removed, and the calls found (malformed ones carry ``error``)."""

    text: str
    calls: list[ToolCall] = field(default_factory=list)


def parse_tool_calls(text: str) -> Parsed:
    """Find every ``<tool_call>`` block in ``text``; an unterminated last block is reported as malformed."""
    calls = [_parse_block(m.group(1)) for m in _BLOCK.finditer(text)]
    visible = _BLOCK.sub("", text)
    if OPEN in visible:
        head, _, tail = visible.partition(OPEN)
        visible = head
        calls.append(
            ToolCall(
                new_call_id(),
                "",
                tail,
                error=f"malformed <tool_call> block: missing {CLOSE}. Write {EXAMPLE}",
            )
        )
    return Parsed(visible.strip(), calls)


class StreamSplitter:
    """Pass streamed text through while holding back anything that is (or may become) a tool-call block.

    ``feed`` returns the text that is safe to show now; ``raw`` keeps everything for ``parse_tool_calls``.
    """

    def __init__(self) -> None:
        self.raw = ""
        self._shown = 0  # how much of raw has been released for display
        self._hidden = False  # once a block starts, the rest of the turn is calls (and is not shown)

    def feed(self, chunk: str) -> str:
        """Add ``chunk``; return the newly displayable text."""
        self.raw += chunk
        if self._hidden:
            return ""
        pending = self.raw[self._shown :]
        start = pending.find(OPEN)
        if start >= 0:
            self._hidden = True
            self._shown += start
            return pending[:start]
        # Hold back a suffix that could be the beginning of "<tool_call>".
        keep = 0
        for n in range(min(len(OPEN) - 1, len(pending)), 0, -1):
            if OPEN.startswith(pending[-n:]):
                keep = n
                break
        out = pending[: len(pending) - keep]
        self._shown += len(out)
        return out

    def finish(self) -> str:
        """End of stream: release any held-back text that turned out not to be a block."""
        if self._hidden:
            return ""
        out = self.raw[self._shown :]
        self._shown = len(self.raw)
        return out
