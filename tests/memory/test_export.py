from __future__ import annotations

import json
from pathlib import Path

import pytest

from memory import Store, StoreError

from .conftest import new_session, sqlite_url


def _session_with_everything(store: Store) -> str:
    session_id = new_session(store)
    store.append_message(session_id, "user", "Rename `foo`\nplease")
    calls = [
        {"id": "call_9", "type": "function", "function": {"name": "edit", "arguments": '{"path": "m.py"}'}}
    ]
    message_id = store.append_message(session_id, "assistant", None, tool_calls=calls)
    run_id = store.record_tool_run(
        session_id, tool_call_id="call_9", name="edit", arguments='{"path": "m.py"}', result="ok", duration_s=0.5,
        message_id=message_id,
    )  # fmt: skip
    store.append_message(session_id, "tool", "```ok```", tool_call_id="call_9", name="edit")
    store.record_file_change(
        session_id, path="m.py", before=b"foo\n", after=b"bar\n", diff="--- a/m.py\n+++ b/m.py\n-foo\n+bar\n",
        tool_run_id=run_id,
    )  # fmt: skip
    return session_id


def test_json_export_is_the_full_session(tmp_path: Path) -> None:
    with Store(sqlite_url(tmp_path / "k.sqlite3")) as store:
        session_id = _session_with_everything(store)
        document = json.loads(store.export(session_id, "json"))
    assert document["format"] == "kiri-session" and document["session"]["id"] == session_id
    assert document["session"]["system_prompt"] == "You are kiri."
    assert [m["role"] for m in document["messages"]] == ["system", "user", "assistant", "tool"]
    assert document["messages"][2]["tool_calls"][0]["id"] == "call_9"
    assert document["tool_runs"][0]["duration_s"] == 0.5
    assert document["file_changes"][0]["diff"].endswith("+bar\n")
    assert document["session"]["created_at"].endswith("+00:00")


def test_markdown_export_is_a_readable_transcript(tmp_path: Path) -> None:
    with Store(sqlite_url(tmp_path / "k.sqlite3")) as store:
        session_id = _session_with_everything(store)
        text = store.export(session_id, "md")
        with pytest.raises(StoreError, match="unknown export format 'pdf'"):
            store.export(session_id, "pdf")  # type: ignore[arg-type]
    assert text.startswith("# Rename `foo` please\n")
    assert f"- id: `{session_id}`" in text
    assert "**Tool call** `edit` (id `call_9`)" in text and "_ran in 0.50 s_" in text
    assert "````\n```ok```\n````" in text  # fences survive backticks in tool output
    assert "```diff\n--- a/m.py" in text


def test_api_key_in_the_environment_never_reaches_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-test-" + "k3y" * 10
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("KIRI_API_KEY", key)
    path = tmp_path / "k.sqlite3"
    with Store(sqlite_url(path)) as store:
        session_id = _session_with_everything(store)
        exported = store.export(session_id, "json") + store.export(session_id, "md")
    assert key not in exported
    for written in tmp_path.iterdir():  # the database and any WAL left beside it
        assert key.encode() not in written.read_bytes()


def test_markdown_export_keeps_every_tool_call_visible_when_rendered(tmp_path: Path) -> None:
    from markdown_it import MarkdownIt

    with Store(sqlite_url(tmp_path / "k.sqlite3")) as store:
        session_id = new_session(store)
        store.append_message(session_id, "user", "<!-- title")
        calls = [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "write_file", "arguments": '{"path": "a.py"}'},
            },
            {"id": "c`2\n\n<!--", "type": "function", "function": {"name": "run`\n\n<!--", "arguments": "{"}},
        ]
        store.append_message(session_id, "assistant", "<!--\n\n<details>\n\n````", tool_calls=calls)
        store.append_message(session_id, "tool", "</details> <!--", tool_call_id="c1", name="write_file")
        store.record_file_change(session_id, path="b\n\n<!--.py", before=None, after=b"x\n", diff="+x\n")
        text = store.export(session_id, "md")
    html = MarkdownIt("commonmark").render(text)
    assert "<!--" not in html and "<details>" not in html  # every raw HTML opener arrives as text
    assert html.count("write_file") >= 2 and "run`" in html and "a.py" in html and "b\\n\\n&lt;!--.py" in html


def test_exports_of_a_session_with_undecodable_stored_json(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "k.sqlite3"
    with Store(sqlite_url(db)) as store:
        session_id = new_session(store)
        store.append_message(
            session_id, "assistant", "hi", tool_calls=[{"id": "c", "function": {}}], usage={"a": 1}
        )
    deep = "[" * 200_000 + "]" * 200_000
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE messages SET tool_calls = ?, usage = ? WHERE role = 'assistant'", (deep, "{bad"))
    with Store(sqlite_url(db)) as store:
        message = store.load(session_id).messages[-1]
        assert message.usage is None and message.tool_calls[0]["function"]["arguments"] == deep
        assert deep in store.export(session_id, "md")
        assert json.loads(store.export(session_id, "json"))["messages"][-1]["content"] == "hi"
        assert store.messages_for_model(session_id)[-1]["content"] == "hi"


def test_json_export_escapes_c1_controls(tmp_path: Path) -> None:
    with Store(sqlite_url(tmp_path / "k.sqlite3")) as store:
        session_id = new_session(store)
        store.append_message(session_id, "user", "csi \x9b31m del \x7f")
        text = store.export(session_id, "json")
    assert "\x9b" not in text and "\x7f" not in text and "\\u009b31m" in text
    assert json.loads(text)["messages"][-1]["content"] == "csi \x9b31m del \x7f"
