"""Plain records the store returns. They carry data only; the store builds them from rows.

Not frozen: a frozen dataclass costs five times as much to build, which shows when loading thousands of messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def from_epoch(seconds: float) -> datetime:
    """A stored time (UTC seconds since the epoch) as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(slots=True)
class SessionSummary:
    """One line of ``list_sessions``: what a listing shows, nothing that needs another query."""

    id: str
    short_id: str  # shortest unique prefix of id, at least 8 characters
    created_at: datetime
    updated_at: datetime
    project_dir: str
    model: str
    backend: str
    prompt_name: str
    prompt_version: str
    message_count: int  # messages after the system prompt
    title: str | None  # the first user message with whitespace collapsed, unless set explicitly
    status: str


@dataclass(slots=True)
class SessionRecord:
    """Every stored field of a session."""

    id: str
    title: str | None
    project_dir: str
    git_head: str | None
    backend: str
    model: str
    prompt_name: str
    prompt_version: str
    system_prompt: str | None
    created_at: datetime
    updated_at: datetime
    status: str
    parent_id: str | None
    usage: dict[str, Any] | None
    message_count: int
    # {"summary": str, "dropped": int}: the model is sent the system prompt, the summary, then the stored messages
    # after the first `dropped` ones (see agent.context.compacted_view). None: never compacted.
    compaction: dict[str, Any] | None = None


@dataclass(slots=True)
class Message:
    """One chat message exactly as appended; ``to_openai()`` gives it back in the request format."""

    id: int
    seq: int
    role: str
    content: str | None
    tool_calls: list[dict[str, Any]] | None
    tool_call_id: str | None
    name: str | None
    usage: dict[str, Any] | None
    created_at: datetime

    def to_openai(self) -> dict[str, Any]:
        """The message as an OpenAI chat-completions message dict (only the keys that were given)."""
        return openai_message(self.role, self.content, self.tool_calls, self.tool_call_id, self.name)


def openai_message(
    role: str,
    content: str | None,
    tool_calls: list[dict[str, Any]] | None,
    tool_call_id: str | None,
    name: str | None,
) -> dict[str, Any]:
    """Build the request-format dict from stored columns; absent optional keys stay absent."""
    message: dict[str, Any] = {"role": role, "content": content}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    if tool_call_id is not None:
        message["tool_call_id"] = tool_call_id
    if name is not None:
        message["name"] = name
    return message


@dataclass(slots=True)
class ToolRun:
    """One execution of a tool: what was asked, what came back, how long it took."""

    id: int
    message_id: int | None
    tool_call_id: str | None
    name: str
    arguments: str
    result: str | None
    duration_s: float | None
    error: str | None
    created_at: datetime


@dataclass(slots=True)
class FileChange:
    """One change to a file in the workspace; a hash of None means the file was absent on that side."""

    id: int
    session_id: str
    tool_run_id: int | None
    path: str
    before_hash: str | None
    after_hash: str | None
    diff: str
    undone: bool
    created_at: datetime
    before_mode: int | None = None  # permission bits; None: absent, or recorded before modes were
    after_mode: int | None = None


@dataclass(slots=True)
class SessionData:
    """A whole session as ``Store.load`` returns it."""

    session: SessionRecord
    messages: list[Message] = field(default_factory=list)
    tool_runs: list[ToolRun] = field(default_factory=list)
    file_changes: list[FileChange] = field(default_factory=list)
