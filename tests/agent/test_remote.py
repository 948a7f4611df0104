"""The remote backend end to end: the real openai SDK against the fake Chat Completions server."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from agent.backends import Done, TextDelta, ToolCall, Usage, make_backend
from agent.backends.remote import RemoteBackend
from agent.errors import BackendError
from tests.fakes.openai_server import FakeOpenAI, call, error_reply, raw_reply, text_reply, tool_reply
from tests.fakes.workspace import make_settings

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a file.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}},
                "required": ["path"],
            },
        },
    }
]
MESSAGES = [{"role": "system", "content": "You are a test."}, {"role": "user", "content": "hi"}]


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


def backend(server: FakeOpenAI, tmp_path: Path, **kw) -> RemoteBackend:
    settings = make_settings(tmp_path, server.url, tmp_path / "db.sqlite3")
    return RemoteBackend(settings, retries=kw.pop("retries", 2), backoff=kw.pop("backoff", 0.01), **kw)


def test_streamed_parallel_tool_calls_split_across_chunks(server, tmp_path):
    args_a = {"path": "src/a very long path/with spaces/and-more.py"}
    server.add(tool_reply(call("read_file", args_a, "call_A"), call("read_file", {"path": "b.py"}, "call_B"),
                          content="Looking at both files.", split=3))  # fmt: skip
    events = list(backend(server, tmp_path).stream(MESSAGES, TOOLS))

    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert text == "Looking at both files."
    assert len([e for e in events if isinstance(e, TextDelta)]) > 1  # really streamed in pieces
    assert [(c.id, c.name, json.loads(c.arguments)) for c in calls] == [
        ("call_A", "read_file", args_a),
        ("call_B", "read_file", {"path": "b.py"}),
    ]
    assert events[-2:] == [Usage(11, 7), Done("tool_calls")]
    sent = server.requests[0]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["tools"] == TOOLS and sent["messages"] == MESSAGES and sent["model"] == "fake-model"


def test_non_streamed_completion(server, tmp_path):
    server.add(tool_reply(call("read_file", {"path": "x.py"}, "call_1"), content="ok"))
    events = list(backend(server, tmp_path, streaming=False).stream(MESSAGES, TOOLS))
    assert events == [TextDelta("ok"), ToolCall("call_1", "read_file", '{"path": "x.py"}'), Usage(11, 7),
                      Done("tool_calls")]  # fmt: skip
    assert "stream" not in server.requests[0] or server.requests[0]["stream"] in (False, None)


def test_rate_limit_then_success_honours_retry_after(server, tmp_path):
    server.add(error_reply(429, "slow down", {"Retry-After": "0.4"}), text_reply("finally"))
    b = backend(server, tmp_path, backoff=0.001)
    events = list(b.stream(MESSAGES, []))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "finally"
    assert b.attempts == 2 and len(server.requests) == 2
    # our backoff alone would wait about a millisecond; the server asked for 0.4 s
    assert server.request_times[1] - server.request_times[0] >= 0.4


def test_server_errors_until_the_last_try_raise_backend_error(server, tmp_path):
    server.add(*[error_reply(500, "boom") for _ in range(5)])
    b = backend(server, tmp_path, retries=3)
    with pytest.raises(BackendError) as info:
        list(b.stream(MESSAGES, []))
    assert info.value.exit_code == 3
    assert "server error (500)" in str(info.value) and "after 4 attempts" in str(info.value)
    assert len(server.requests) == 4


def test_client_errors_are_not_retried(server, tmp_path):
    server.add(error_reply(401, "bad key"))
    with pytest.raises(BackendError, match="authentication failed.*bad key"):
        list(backend(server, tmp_path).stream(MESSAGES, []))
    assert len(server.requests) == 1


def test_malformed_stream_is_a_clear_backend_error(server, tmp_path):
    server.add(raw_reply(b'data: {"id": "x", "choices": [\n\n'))
    with pytest.raises(BackendError, match="malformed response"):
        list(backend(server, tmp_path).stream(MESSAGES, []))


def test_unreachable_server(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = make_settings(tmp_path, f"http://127.0.0.1:{port}/v1", tmp_path / "db.sqlite3")
    b = RemoteBackend(settings, retries=1, backoff=0.01)
    with pytest.raises(BackendError, match="cannot connect.*after 2 attempts"):
        list(b.stream(MESSAGES, []))


def test_server_without_native_tools_falls_back_to_text_protocol(server, tmp_path):
    server.add(
        error_reply(400, "this model does not support tools"),
        text_reply(
            'Let me read it. <tool_call>{"name": "read_file", "arguments": {"path": "a.py"}}</tool_call>',
            split=5,
        ),  # fmt: skip
    )
    b = backend(server, tmp_path)
    events = list(b.stream(MESSAGES, TOOLS))
    assert b.protocol == "text"
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text.strip() == "Let me read it." and "<tool" not in text
    [tc] = [e for e in events if isinstance(e, ToolCall)]
    assert (tc.name, json.loads(tc.arguments), tc.error) == ("read_file", {"path": "a.py"}, None)
    fallback = server.requests[1]
    assert "tools" not in fallback
    assert (
        "<tool_call>" in fallback["messages"][0]["content"]
        and "read_file" in fallback["messages"][0]["content"]
    )


def test_other_400s_about_tools_are_errors_not_a_protocol_switch(server, tmp_path):
    message = "messages with role 'tool' must be a response to a preceding message with 'tool_calls'"
    server.add(error_reply(400, message))
    b = backend(server, tmp_path)
    with pytest.raises(BackendError, match="rejected the request \\(400\\).*role 'tool'"):
        list(b.stream(MESSAGES, TOOLS))
    assert b.protocol == "native" and len(server.requests) == 1


def test_make_backend_picks_from_the_table(server, tmp_path):
    settings = make_settings(tmp_path, server.url, tmp_path / "db.sqlite3")
    assert isinstance(make_backend(settings), RemoteBackend)
    from dataclasses import replace

    from agent.errors import UsageError

    with pytest.raises(UsageError, match="unknown backend"):
        make_backend(replace(settings, backend="nope"))


def test_interrupting_a_slow_stream_closes_the_connection(server, tmp_path):
    server.add(text_reply("x" * 400, split=1, delay=0.01))
    stream = backend(server, tmp_path).stream(MESSAGES, [])
    started = time.monotonic()
    assert isinstance(next(stream), TextDelta)
    stream.close()  # what happens when the consumer is interrupted
    assert time.monotonic() - started < 2
