"""The loop with a known key: approvals, stored diffs and the terminal show it redacted; undo keeps exact bytes."""

from __future__ import annotations

import io as stdio
from pathlib import Path

import pytest

from agent.session import open_session
from agent.ui import IO
from memory import Store
from tests.fakes.openai_server import FakeOpenAI, call, text_reply, tool_reply
from tests.fakes.workspace import git_repo, make_settings
from tools.changes import undo

KEY = "sk-loop-unit-5f5f5f5f5f5f5f5f"


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


def test_a_change_to_a_file_holding_the_key_is_approved_and_recorded_redacted(server, tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "proj", {".env": f"DEBUG=1\nOPENAI_API_KEY={KEY}\n"})
    server.add(
        tool_reply(call("read_file", {"path": ".env"})),
        tool_reply(call("edit_file", {"path": ".env", "old": "DEBUG=1", "new": "DEBUG=0"})),
        text_reply("done"),
    )
    out = stdio.StringIO()
    io = IO(pretty=False, color=False, out=out, inp=stdio.StringIO("y\n"))  # "yes" to the one approval
    settings = make_settings(repo, server.url, tmp_path / "kiri.sqlite3", api_key=KEY, approval="ask")
    session = open_session(settings, io)
    assert session.agent.run("turn debugging off").status == "done"

    assert (repo / ".env").read_text() == f"DEBUG=0\nOPENAI_API_KEY={KEY}\n"  # the real file, really edited
    assert "Apply change .env?" in out.getvalue() and KEY not in out.getvalue()
    assert "OPENAI_API_KEY=[redacted]" in out.getvalue()  # the diff's context line, shown redacted
    with Store(settings.db_url) as store:
        (change,) = store.file_changes(session.id)
        assert KEY not in change.diff and KEY not in store.export(session.id, "json")
        # Undo must give back the user's bytes, so the snapshots are exact: the one place the key is kept.
        undo(store, session.id, workspace=repo)
    assert (repo / ".env").read_text() == f"DEBUG=1\nOPENAI_API_KEY={KEY}\n"
