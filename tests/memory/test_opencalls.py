"""Tool calls a kill left without a result get an "interrupted" result, stored where the API expects it."""

from __future__ import annotations

from pathlib import Path

from memory import Store

from .conftest import new_session, sqlite_url

NOTE = "Error: interrupted before this tool call completed"


def _call(call_id: str) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": "run_shell", "arguments": "{}"}}


def test_open_calls_are_answered_once_right_after_their_results(db_path: Path) -> None:
    with Store(sqlite_url(db_path)) as store:
        session_id = new_session(store)
        store.append_message(session_id, "user", "go")
        store.append_message(session_id, "assistant", None, tool_calls=[_call("a"), _call("b")])
        store.append_message(session_id, "tool", "done a", tool_call_id="a", name="run_shell")
        # What an older kiri did after a kill: the next turn went on after the open call.
        store.append_message(session_id, "user", "hello?")
        store.append_message(session_id, "assistant", None, tool_calls=[_call("c")])

        assert store.answer_open_calls(session_id, NOTE) == 2
        sent = store.messages_for_model(session_id)
        assert [(m["role"], m.get("tool_call_id")) for m in sent] == [
            ("system", None), ("user", None), ("assistant", None), ("tool", "a"), ("tool", "b"),
            ("user", None), ("assistant", None), ("tool", "c"),
        ]  # fmt: skip
        assert sent[4] == {"role": "tool", "content": NOTE, "tool_call_id": "b", "name": "run_shell"}
        assert [m.seq for m in store.load(session_id).messages] == list(range(8))
        assert store.get_session(session_id).message_count == 7
        assert store.answer_open_calls(session_id, NOTE) == 0  # nothing left: the next load is the same
        assert store.messages_for_model(session_id) == sent


def test_a_compaction_that_covers_the_calls_covers_their_answers(db_path: Path) -> None:
    with Store(sqlite_url(db_path)) as store:
        session_id = new_session(store)
        store.append_message(session_id, "user", "go")
        store.append_message(session_id, "assistant", None, tool_calls=[_call("a")])
        store.append_message(session_id, "user", "later")
        store.update_session(session_id, compaction={"summary": "s", "dropped": 2})
        assert store.answer_open_calls(session_id, NOTE) == 1
        assert store.get_session(session_id).compaction == {"summary": "s", "dropped": 3}
