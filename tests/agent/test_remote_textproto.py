"""The text tool-call protocol: describing tools, parsing blocks (valid and malformed), hiding them while streaming."""

from __future__ import annotations

import json

from agent.backends.textproto import StreamSplitter, describe_tools, parse_tool_calls, to_text_messages

TOOLS = [
    {
        "type": "function",
        "function": {"name": "grep", "description": "Search.", "parameters": {"type": "object"}},
    }
]


def test_parse_valid_blocks_in_order():
    parsed = parse_tool_calls(
        'First.\n<tool_call>{"name": "grep", "arguments": {"pattern": "x"}}</tool_call>\n'
        '<tool_call>\n```json\n{"name": "ls", "arguments": {}}\n```\n</tool_call>'
    )
    assert parsed.text == "First."
    assert [(c.name, json.loads(c.arguments), c.error) for c in parsed.calls] == [
        ("grep", {"pattern": "x"}, None),
        ("ls", {}, None),
    ]
    assert len({c.id for c in parsed.calls}) == 2


def test_malformed_blocks_carry_an_error_for_the_model():
    bad_json, no_name, unterminated = (
        parse_tool_calls('<tool_call>{"name": "grep", "arguments": {pattern}}</tool_call>').calls[0],
        parse_tool_calls('<tool_call>{"arguments": {}}</tool_call>').calls[0],
        parse_tool_calls('ok <tool_call>{"name": "grep"').calls[0],
    )
    assert "invalid JSON" in bad_json.error and "<tool_call>" in bad_json.error
    assert 'no "name"' in no_name.error
    assert "missing </tool_call>" in unterminated.error


def test_splitter_never_shows_a_block_even_split_mid_tag():
    text = 'Reading now <tool_call>{"name": "grep", "arguments": {}}</tool_call> trailing'
    for size in (1, 2, 3, 7, len(text)):
        splitter = StreamSplitter()
        shown = (
            "".join(splitter.feed(text[i : i + size]) for i in range(0, len(text), size)) + splitter.finish()
        )
        assert shown == "Reading now ", size
        assert splitter.raw == text
    plain = StreamSplitter()
    assert plain.feed("a <tool") == "a " and plain.finish() == "<tool"  # held back, then released


def test_history_is_rewritten_for_text_models():
    messages = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "find x"},
        {
            "role": "assistant",
            "content": "ok",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "grep", "arguments": '{"pattern": "x"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "grep", "arguments": '{"pattern": "y"}'},
                },
            ],
        },  # fmt: skip
        {"role": "tool", "tool_call_id": "c1", "name": "grep", "content": "a.py:1: x"},
        {"role": "tool", "tool_call_id": "c2", "name": "grep", "content": "no matches"},
    ]
    out = to_text_messages(messages, TOOLS)
    assert [m["role"] for m in out] == ["system", "user", "assistant", "user"]
    assert out[0]["content"].startswith("sys\n\n") and describe_tools(TOOLS) in out[0]["content"]
    assert out[2]["content"].count("<tool_call>") == 2
    assert parse_tool_calls(out[2]["content"]).calls[1].arguments == '{"pattern": "y"}'
    assert out[3]["content"].count("<tool_result") == 2 and "no matches" in out[3]["content"]
    assert all(set(m) <= {"role", "content", "name"} for m in out)
