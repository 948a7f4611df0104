"""What the model gets to see: token counting, truncated tool outputs, and compaction of old turns.

The database keeps the whole session; only the list sent to the model shrinks. Counting uses tiktoken when it has
the model's encoding offline (it downloads encodings on first use, and kiri must work without a network), else a
character estimate (4 characters a token), which errs on the side of compacting early.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from agent.backends.base import Backend, TextDelta, Usage

COMPACT_AT = 0.8  # fraction of the context limit that triggers compaction
KEEP_RECENT_TOKENS = 0.3  # fraction of the limit kept verbatim after compaction
PER_MESSAGE_OVERHEAD = 4  # role and separators, as OpenAI counts them


@lru_cache(maxsize=16)
def _encoder(model: str) -> Any:
    """tiktoken's encoder for ``model``, or None when unknown or unavailable offline (remembered per process)."""
    try:
        import tiktoken
    except ImportError:
        return None
    try:
        return tiktoken.encoding_for_model(model)
    except (KeyError, ValueError, OSError):
        # KeyError: model unknown to tiktoken. OSError (requests' errors included): the encoding is not cached
        # and there is no network. ValueError: a corrupted download.
        return None


def count_tokens(text: str, model: str | None = None) -> int:
    """Tokens in ``text`` for ``model``: exact with tiktoken when possible, else ``ceil(len/4)``."""
    encoder = _encoder(model) if model else None
    if encoder is not None:
        return len(encoder.encode(text, disallowed_special=()))
    return (len(text) + 3) // 4


def count_messages(messages: list[dict[str, Any]], model: str | None = None) -> int:
    """Approximate prompt tokens of a message list (content, tool calls and per-message overhead)."""
    total = 0
    for msg in messages:
        total += PER_MESSAGE_OVERHEAD + count_tokens(msg.get("content") or "", model)
        if msg.get("tool_calls"):
            total += count_tokens(json.dumps(msg["tool_calls"]), model)
    return total


def truncate_output(text: str, max_chars: int) -> str:
    """Keep the head and tail of a long tool output, with an explicit note of what was cut (never silently)."""
    if len(text) <= max_chars:
        return text
    head = max_chars * 2 // 3
    tail = max_chars - head
    omitted = len(text) - head - tail
    lines = text[head : len(text) - tail].count("\n")
    note = (
        f"\n[... {omitted} characters ({lines} lines) omitted: output truncated for the model; "
        "rerun with a narrower command or read a range to see more ...]\n"
    )
    return text[:head] + note + text[len(text) - tail :]


@dataclass
class Compacted:
    """The outcome of `ContextWindow.compact`."""

    messages: list[dict[str, Any]]
    usage: Usage | None
    summary: str | None  # None: nothing was old enough to summarise
    replaced: int  # messages after the system prompt that the summary stands for


class ContextWindow:
    """Decides when the messages for the model must shrink, and shrinks them with the ``compact`` prompt."""

    def __init__(self, limit: int, model: str | None = None) -> None:
        self.limit = limit
        self.model = model
        # The server's own count for the prompt last sent, and how many messages it covered: better than any
        # estimate, so later estimates start from it.
        self.reported: tuple[int, int] | None = None
        self.overhead = 0  # tokens sent with every request besides the messages (tool schemas)

    @property
    def max_tool_chars(self) -> int:
        """Longest tool output sent to the model: about a quarter of the window, within sane bounds."""
        return max(2_000, min(self.limit, 40_000))

    def observe(self, usage: Usage, n_messages: int) -> None:
        """Remember the server-reported prompt size of a request that carried ``n_messages`` messages."""
        self.reported = (usage.prompt_tokens, n_messages)

    def estimate(self, messages: list[dict[str, Any]]) -> int:
        """Prompt tokens ``messages`` will take."""
        estimate = count_messages(messages, self.model) + self.overhead
        if self.reported is not None and self.reported[1] <= len(messages):
            reported, n = self.reported
            return max(reported + count_messages(messages[n:], self.model), estimate)
        return estimate

    def over(self, messages: list[dict[str, Any]]) -> bool:
        """True when ``messages`` pass the compaction threshold."""
        return self.estimate(messages) > COMPACT_AT * self.limit

    def compact(
        self,
        messages: list[dict[str, Any]],
        backend: Backend,
        render_prompt: Callable[[str, int], str],
    ) -> Compacted:
        """Summarise all but the system prompt and the most recent turns into one message.

        ``render_prompt(transcript, max_words)`` renders the compact prompt. Returns the new list (system prompt,
        summary, recent messages verbatim), the usage of the summarising call, the summary, and how many messages
        after the system prompt it replaced. The cut is made before a user
        message so that no tool result is separated from the assistant message that called it.
        """
        cut = self._cut_point(messages)
        if cut <= 1:
            return Compacted(messages, None, None, 0)
        transcript = "\n\n".join(_transcript_entry(m) for m in messages[1:cut])
        prompt = render_prompt(transcript, max(200, self.limit // 20))
        summary, usage = _generate_text(backend, [{"role": "user", "content": prompt}])
        self.reported = None
        return Compacted([messages[0], summary_message(summary), *messages[cut:]], usage, summary, cut - 1)

    def _cut_point(self, messages: list[dict[str, Any]]) -> int:
        keep = KEEP_RECENT_TOKENS * self.limit
        kept = 0
        cut = len(messages)
        for i in range(len(messages) - 1, 0, -1):
            kept += count_messages([messages[i]], self.model)
            if kept > keep:
                break
            if messages[i]["role"] == "user":
                cut = i
        if cut == len(messages):
            # Even the last turn is too large: summarise up to the last user message.
            users = [i for i, m in enumerate(messages) if m["role"] == "user" and i > 0]
            cut = users[-1] if users else 1
        return cut


def _transcript_entry(msg: dict[str, Any]) -> str:
    text = msg.get("content") or ""
    if msg.get("tool_calls"):
        calls = "; ".join(f"{c['function']['name']}({c['function']['arguments']})" for c in msg["tool_calls"])
        text = f"{text}\n[tool calls: {calls}]".strip()
    if msg["role"] == "tool":
        text = truncate_output(text, 2_000)
    return f"{msg['role'].upper()}: {text}"


def _generate_text(backend: Backend, messages: list[dict[str, Any]]) -> tuple[str, Usage | None]:
    parts: list[str] = []
    usage = None
    for event in backend.stream(messages, []):
        if isinstance(event, TextDelta):
            parts.append(event.text)
        elif isinstance(event, Usage):
            usage = event
    return "".join(parts).strip(), usage


def summary_message(summary: str) -> dict[str, Any]:
    """The message that stands for compacted turns in what the model is sent."""
    return {
        "role": "user",
        "content": f"[Summary of the earlier conversation, compacted to fit the context window]\n{summary}",
    }


def compacted_view(stored: list[dict[str, Any]], compaction: dict[str, Any] | None) -> list[dict[str, Any]]:
    """What the model is sent for a stored history (system prompt first) after the session's last compaction:
    the system prompt, the summary, and the stored messages the summary does not replace."""
    if not compaction or not stored:
        return stored
    return [stored[0], summary_message(compaction["summary"]), *stored[1 + compaction["dropped"] :]]
