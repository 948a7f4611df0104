"""Context management in a real session: compaction keeps the db whole, prompts carry the environment."""

from __future__ import annotations

import io as stdio

import pytest

from agent.context import ContextWindow, compacted_view, count_messages, count_tokens, truncate_output
from agent.session import open_session
from agent.ui import IO
from tests.fakes.openai_server import FakeOpenAI, text_reply
from tests.fakes.workspace import BUGGY, git_repo, make_settings


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


def quiet() -> IO:
    return IO(pretty=False, out=stdio.StringIO(), inp=stdio.StringIO(""))


def test_token_counts_fall_back_to_a_character_estimate_offline():
    assert count_tokens("x" * 400, "no-such-model") == 100
    assert count_messages([{"role": "user", "content": "abcd"}], None) == 5


def test_truncation_keeps_head_and_tail_and_says_so():
    text = "".join(f"{i}\n" for i in range(10_000))
    cut = truncate_output(text, 1_000)
    assert cut.startswith("0\n1\n") and cut.endswith("9999\n") and "omitted" in cut
    assert truncate_output("short", 1_000) == "short"


def test_compaction_summarises_old_turns_but_the_store_keeps_everything(server, tmp_path):
    repo = git_repo(tmp_path / "proj", BUGGY)
    # a window so small that three long turns plus the tool schemas cross 80% of it
    settings = make_settings(repo, server.url, tmp_path / "db.sqlite3", context_limit=5_200)
    long_answer = "detail " * 500
    server.add(text_reply(long_answer, split=500), text_reply(long_answer, split=500), text_reply(long_answer, split=500),
               text_reply("SUMMARY: the user asked three questions about calc.py."),
               text_reply("Fourth answer."))  # fmt: skip
    session = open_session(settings, quiet())
    for question in ("first?", "second?", "third?"):
        session.agent.run(question)
    assert session.agent.window.over(session.agent.messages)
    assert session.agent.run("fourth?").text == "Fourth answer."

    summarise, after = server.requests[3], server.requests[4]
    assert "summarising the earlier part of a coding session" in summarise["messages"][0]["content"]
    assert "USER: first?" in summarise["messages"][0]["content"] and "tools" not in summarise
    sent = after["messages"]
    assert sent[0]["role"] == "system" and "SUMMARY: the user asked" in sent[1]["content"]
    assert sent[-1] == {"role": "user", "content": "fourth?"}
    assert len(sent) < len(session.store.messages_for_model(session.id))  # only what is sent shrank
    assert [m["content"] for m in session.store.messages_for_model(session.id) if m["role"] == "user"] == [
        "first?",
        "second?",
        "third?",
        "fourth?",
    ]
    assert session.agent.usage["prompt_tokens"] == 55  # the summarising call is counted too

    # The summary is recorded: a resumed session sends the model exactly what it was sent before, plus the new turn.
    record = session.store.get_session(session.id)
    assert record.compaction["summary"] == "SUMMARY: the user asked three questions about calc.py."
    server.add(text_reply("Fifth answer."))
    resumed = open_session(settings, quiet(), session.id)
    assert resumed.agent.messages == [*sent, {"role": "assistant", "content": "Fourth answer."}]
    assert resumed.agent.run("fifth?").text == "Fifth answer."
    assert server.requests[-1]["messages"] == [*sent, {"role": "assistant", "content": "Fourth answer."},
                                               {"role": "user", "content": "fifth?"}]  # fmt: skip

    # A second compaction builds on the first: the recorded state still reproduces what the model was sent.
    server.add(text_reply(long_answer, split=500), text_reply(long_answer, split=500),
               text_reply("SUMMARY 2."), text_reply("Last answer."))  # fmt: skip
    for question in ("sixth?", "seventh?", "eighth?"):
        resumed.agent.run(question)
    assert any("SUMMARY 2." in str(m["content"]) for m in server.requests[-1]["messages"])
    stored = session.store.messages_for_model(session.id)
    view = compacted_view(stored, session.store.get_session(session.id).compaction)
    assert view[:-1] == server.requests[-1]["messages"] and view[-1]["content"] == "Last answer."


def test_system_prompt_records_environment_and_agents_md(server, tmp_path, monkeypatch):
    repo = git_repo(tmp_path / "proj", {**BUGGY, "AGENTS.md": "Always use tabs in this project.\n"})
    (repo / "calc.py").write_text("changed\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / "AGENTS.md").write_text("The user prefers short answers.\n")
    monkeypatch.setenv("KIRI_HOME", str(home))
    session = open_session(make_settings(repo, server.url, tmp_path / "db.sqlite3"), quiet())
    record = session.store.get_session(session.id)
    system = session.store.messages_for_model(session.id)[0]["content"]
    assert (record.prompt_name, record.prompt_version, record.system_prompt) == ("system", "1.0.0", system)
    assert str(repo) in system and "branch main, 1 changed file(s)" in system
    assert "Always use tabs" in system and "prefers short answers" in system
    assert system.index("prefers short answers") < system.index("Always use tabs")  # general first


def test_context_window_uses_the_servers_count_when_known():
    window = ContextWindow(1_000, None)
    messages = [{"role": "user", "content": "hi"}]
    from agent.backends import Usage

    assert window.estimate(messages) == 5
    window.observe(Usage(900, 5), len(messages))
    assert window.estimate(messages) == 900 and window.over(messages)
    window.overhead = 100
    assert window.estimate(messages + messages) == 905
