"""Tool calls left without a result, and the result messages that close them.

OpenAI-style APIs reject a history in which an assistant message's tool call is not answered by a tool
message before the next other message. A kill during a tool call leaves exactly that, and so would a resume
that appended a new user message after it (as kiri did before it closed open calls on resume).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Text, cast, insert, select, update

from .schema import messages, sessions


@dataclass(frozen=True)
class Gap:
    """Calls of the assistant message at stored position ``after`` with no result; their results go at
    position ``at`` (just after the tool messages that do answer it)."""

    after: int
    at: int
    calls: tuple[dict[str, Any], ...]


def find_gaps(history: Sequence[tuple[str, list[dict[str, Any]] | None, str | None]]) -> list[Gap]:
    """The unanswered calls in ``history``: (role, tool_calls, tool_call_id) per stored message, in order."""
    gaps = []
    for index, (role, calls, _) in enumerate(history):
        if role != "assistant" or not calls:
            continue
        end = index + 1
        answered = set()
        while end < len(history) and history[end][0] == "tool":
            answered.add(history[end][2])
            end += 1
        missing = tuple(c for c in calls if isinstance(c, dict) and c.get("id") not in answered)
        if missing:
            gaps.append(Gap(index, end, missing))
    return gaps


def answer_open_calls(conn: Connection, session_id: str, content: str, *, now: float) -> int:
    """Store a tool message with ``content`` for each unanswered call, in the write transaction ``conn``, right
    after the results its assistant message does have; return how many were added (see Store)."""
    rows = conn.execute(
        select(messages.c.seq, messages.c.role, cast(messages.c.tool_calls, Text), messages.c.tool_call_id)
        .where(messages.c.session_id == session_id)
        .order_by(messages.c.seq)
    ).all()
    gaps = find_gaps([(role, calls and json.loads(calls), call_id) for _, role, calls, call_id in rows])
    if not gaps:
        return 0
    stored = conn.scalar(select(cast(sessions.c.compaction, Text)).where(sessions.c.id == session_id))
    compaction = stored and json.loads(stored)
    added = 0
    for gap in reversed(gaps):  # last first: making room after a gap does not move the earlier ones
        first, shift = rows[gap.at - 1][0] + 1, len(gap.calls)
        _make_room(conn, session_id, first, shift)
        for offset, call in enumerate(gap.calls):
            function = call.get("function")
            conn.execute(
                insert(messages).values(
                    session_id=session_id,
                    seq=first + offset,
                    role="tool",
                    content=content,
                    tool_call_id=call.get("id"),
                    created_at=now,
                    name=function.get("name") if isinstance(function, dict) else None,
                )  # fmt: skip
            )
        # The summary replaces stored messages 1..dropped (0 is the system prompt): if it covers the calls, it
        # covers their results too, or the model would be sent results without their calls.
        if compaction and gap.after <= compaction["dropped"]:
            compaction = {**compaction, "dropped": compaction["dropped"] + shift}
        added += shift
    values: dict[str, Any] = {"message_count": sessions.c.message_count + added, "updated_at": now}
    if compaction:
        values["compaction"] = compaction
    conn.execute(update(sessions).where(sessions.c.id == session_id).values(values))
    return added


def _make_room(conn: Connection, session_id: str, first: int, count: int) -> None:
    """Move the messages from ``seq`` ``first`` on up by ``count``, through negative numbers: the unique
    (session, seq) is checked row by row during an UPDATE, so a plain ``seq + count`` can collide."""
    later = (messages.c.session_id == session_id) & (messages.c.seq >= first)
    conn.execute(update(messages).where(later).values(seq=-(messages.c.seq + count)))
    negative = (messages.c.session_id == session_id) & (messages.c.seq < 0)
    conn.execute(update(messages).where(negative).values(seq=-messages.c.seq))
