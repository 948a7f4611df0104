"""Round trip of every Store method, against SQLite and a real PostgreSQL server."""

from __future__ import annotations

import hashlib
import json

import pytest

from memory import BlobNotFound, SessionNotFound, Store, StoreError

from .conftest import new_session

TOOL_CALLS = [
    {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "a.py"}'}},
    {"id": "call_2", "type": "function", "function": {"name": "bash", "arguments": '{"cmd":"ls -la"}'}},
]


def _conversation(store: Store, session_id: str) -> list[dict]:
    """Append a realistic exchange; return what a model request would have contained."""
    sent = [
        {"role": "user", "content": "  Fix the\nfailing   test ünïcode ✓ "},
        {"role": "assistant", "content": None, "tool_calls": TOOL_CALLS},
        {"role": "tool", "content": "print('hi')\n", "tool_call_id": "call_1", "name": "read_file"},
        {"role": "tool", "content": "", "tool_call_id": "call_2"},
        {"role": "assistant", "content": "Done."},
    ]
    for message in sent:
        fields = {k: v for k, v in message.items() if k not in ("role", "content")}
        usage = {"prompt_tokens": 10, "completion_tokens": 2} if message["role"] == "assistant" else None
        store.append_message(session_id, message["role"], message["content"], usage=usage, **fields)
    return [{"role": "system", "content": "You are kiri."}, *sent]


def test_messages_replay_exactly_as_appended(store: Store) -> None:
    session_id = new_session(store)
    expected = _conversation(store, session_id)
    replay = store.messages_for_model(session_id)
    assert replay == expected
    # Same keys in the same order, and the arguments strings untouched, so the request is byte for byte the same.
    assert json.dumps(replay) == json.dumps(expected)


def test_create_list_and_summary_fields(store: Store) -> None:
    first = new_session(store, project_dir="/a")
    second = new_session(store, project_dir="/b")
    _conversation(store, second)
    listed = store.list_sessions()
    assert [s.id for s in listed] == [second, first]  # newest first
    summary = listed[0]
    assert summary.short_id == second[:8] and len(second) == 32
    assert (summary.project_dir, summary.model, summary.backend) == ("/b", "gpt-test", "remote")
    assert (summary.prompt_name, summary.prompt_version, summary.status) == ("default", "1.2.0", "active")
    assert summary.message_count == 5  # after the system prompt
    assert summary.title == "Fix the failing test ünïcode ✓"
    assert summary.updated_at >= summary.created_at
    assert [s.id for s in store.list_sessions(project_dir="/a")] == [first]
    assert len(store.list_sessions(limit=1)) == 1
    assert store.list_sessions(project_dir="/nowhere") == []


def test_explicit_title_is_kept(store: Store) -> None:
    session_id = store.create_session(
        project_dir="/p", backend="local", model="kiri-coder", prompt_name="fix", prompt_version="0.1.0",
        system_prompt=None, title="Given title", git_head="a" * 40,
    )  # fmt: skip
    store.append_message(session_id, "user", "first message")
    record = store.get_session(session_id)
    assert record.title == "Given title" and record.git_head == "a" * 40 and record.system_prompt is None
    assert store.messages_for_model(session_id) == [{"role": "user", "content": "first message"}]


def test_short_ids_grow_until_unique(store: Store) -> None:
    ids = [new_session(store) for _ in range(3)]
    summaries = {s.id: s.short_id for s in store.list_sessions()}
    for session_id in ids:
        assert summaries[session_id] == session_id[:8]
        assert store.resolve_id(summaries[session_id]) == session_id


def test_load_returns_everything_in_order(store: Store) -> None:
    session_id = new_session(store)
    _conversation(store, session_id)
    assistant = store.load(session_id).messages[2]
    run_id = store.record_tool_run(
        session_id, tool_call_id="call_1", name="read_file", arguments={"path": "a.py"}, result="print('hi')\n",
        duration_s=0.25, message_id=assistant.id,
    )  # fmt: skip
    failed = store.record_tool_run(
        session_id, tool_call_id="call_2", name="bash", arguments='{"cmd":"ls -la"}', result=None,
        duration_s=1.5, error="exit status 2",
    )  # fmt: skip
    change = store.record_file_change(
        session_id, path="a.py", before=b"old\n", after=b"new\n", diff="-old\n+new\n", tool_run_id=run_id
    )
    store.update_session(session_id, status="done", usage={"prompt_tokens": 20, "completion_tokens": 4})

    data = store.load(session_id)
    assert data.session.status == "done" and data.session.usage == {
        "prompt_tokens": 20,
        "completion_tokens": 4,
    }
    assert [m.seq for m in data.messages] == list(range(6))
    assert data.messages[2].tool_calls == TOOL_CALLS and data.messages[2].usage["completion_tokens"] == 2
    assert [m.to_openai() for m in data.messages] == store.messages_for_model(session_id)
    assert [(r.id, r.name, r.arguments, r.error) for r in data.tool_runs] == [
        (run_id, "read_file", '{"path": "a.py"}', None),
        (failed, "bash", '{"cmd":"ls -la"}', "exit status 2"),
    ]
    assert data.tool_runs[0].message_id == assistant.id and data.tool_runs[0].duration_s == 0.25
    assert [c.id for c in data.file_changes] == [change]
    assert data.file_changes[0].tool_run_id == run_id


def test_file_changes_blobs_and_undo_flags(store: Store) -> None:
    session_id = new_session(store)
    created = store.record_file_change(session_id, path="new.txt", before=None, after=b"x\n", diff="+x\n")
    edited = store.record_file_change(
        session_id, path="new.txt", before=b"x\n", after=b"y\n", diff="-x\n+y\n"
    )
    removed = store.record_file_change(session_id, path="new.txt", before=b"y\n", after=None, diff="-y\n")
    changes = store.file_changes(session_id)
    assert [c.id for c in changes] == [created, edited, removed]
    assert changes[0].before_hash is None and changes[2].after_hash is None
    assert changes[0].after_hash == changes[1].before_hash == hashlib.sha256(b"x\n").hexdigest()
    assert store.get_blob(changes[1].after_hash) == b"y\n"

    store.mark_undone([removed, edited])
    assert [c.id for c in store.file_changes(session_id)] == [created]
    assert [c.undone for c in store.file_changes(session_id, include_undone=True)] == [False, True, True]
    with pytest.raises(StoreError, match="no file change with id 999999"):
        store.mark_undone([created, 999999])
    assert not store.file_changes(session_id)[0].undone  # the failed call changed nothing
    with pytest.raises(BlobNotFound):
        store.get_blob("0" * 64)


def test_update_session_changes_only_given_fields(store: Store) -> None:
    session_id = new_session(store)
    store.update_session(session_id, model="gpt-other", title="Renamed")
    record = store.get_session(session_id)
    assert (record.model, record.title, record.status, record.usage) == (
        "gpt-other",
        "Renamed",
        "active",
        None,
    )


def test_fork_copies_messages_and_links_parent(store: Store) -> None:
    session_id = new_session(store)
    expected = _conversation(store, session_id)
    fork_id = store.fork(session_id)
    assert fork_id != session_id
    fork = store.load(fork_id)
    assert fork.session.parent_id == session_id and fork.session.message_count == 5
    assert store.messages_for_model(fork_id) == expected
    store.append_message(fork_id, "user", "only in the fork")
    assert len(store.messages_for_model(session_id)) == len(expected)
    assert store.messages_for_model(fork_id)[-1]["content"] == "only in the fork"


def test_delete_removes_rows_and_unused_blobs(store: Store) -> None:
    keep, doomed = new_session(store), new_session(store)
    _conversation(store, doomed)
    run_id = store.record_tool_run(
        doomed, tool_call_id="c", name="t", arguments="{}", result="", duration_s=0
    )
    store.record_file_change(
        doomed, path="f", before=b"shared", after=b"only-doomed", diff="d", tool_run_id=run_id
    )
    store.record_file_change(keep, path="g", before=None, after=b"shared", diff="d")
    fork_id = store.fork(doomed)

    store.delete(doomed)
    with pytest.raises(SessionNotFound):
        store.load(doomed)
    assert {s.id for s in store.list_sessions()} == {keep, fork_id}
    assert store.get_session(fork_id).parent_id is None
    assert store.get_blob(hashlib.sha256(b"shared").hexdigest()) == b"shared"  # still used by `keep`
    with pytest.raises(BlobNotFound):
        store.get_blob(hashlib.sha256(b"only-doomed").hexdigest())
    with pytest.raises(SessionNotFound):
        store.delete(doomed)


def test_unknown_session_everywhere(store: Store) -> None:
    missing = "f" * 32
    calls = [
        lambda: store.append_message(missing, "user", "x"),
        lambda: store.record_tool_run(
            missing, tool_call_id=None, name="t", arguments="{}", result=None, duration_s=None
        ),
        lambda: store.record_file_change(missing, path="p", before=None, after=b"", diff=""),
        lambda: store.file_changes(missing),
        lambda: store.load(missing),
        lambda: store.messages_for_model(missing),
        lambda: store.update_session(missing, status="done"),
        lambda: store.fork(missing),
        lambda: store.delete(missing),
        lambda: store.export(missing, "md"),
    ]
    for call in calls:
        with pytest.raises(SessionNotFound, match=missing):
            call()


def test_nothing_in_the_store_can_hold_an_api_key() -> None:
    from memory.schema import metadata

    columns = {f"{t.name}.{c.name}" for t in metadata.sorted_tables for c in t.columns}
    assert not [c for c in columns if "key" in c.lower() or "secret" in c.lower() or "token" in c.lower()]


def test_lone_surrogates_are_stored_with_replacement(store: Store) -> None:
    session_id = new_session(store, project_dir="/p/\ud800")
    store.append_message(session_id, "user", "hi \ud800 there", name="n\udfff")
    run_id = store.record_tool_run(
        session_id, tool_call_id="c\ud801", name="t", arguments='{"path": "\udc80"}', result="r\ud800",
        duration_s=0.1, error="e\ud800",
    )  # fmt: skip
    store.record_file_change(session_id, path="x\udcff.txt", before=None, after=b"x", diff="+x\ud800\n")
    store.update_session(session_id, title="t\ud800")
    data = store.load(session_id)
    assert data.messages[-1].content == "hi \ufffd there" and data.messages[-1].name == "n\ufffd"
    run = data.tool_runs[0]
    assert run.id == run_id and (run.tool_call_id, run.arguments, run.result, run.error) == (
        "c\ufffd",
        '{"path": "\ufffd"}',
        "r\ufffd",
        "e\ufffd",
    )
    assert data.file_changes[0].path == "x\ufffd.txt" and data.file_changes[0].diff == "+x\ufffd\n"
    assert data.session.title == "t\ufffd" and data.session.project_dir == "/p/\ufffd"
