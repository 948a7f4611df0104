"""The local backend on a tiny random model saved in kiri's layout: the event protocol, not the (gibberish) text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.backends import Done, Progress, TextDelta, ToolCall, Usage, make_backend
from agent.backends.local import LocalBackend, TextEvents
from agent.backends.textproto import to_text_messages
from agent.errors import BackendError
from agent.settings import Settings
from local_model.chat import render_chat
from local_model.load import save_model
from tests.local_model.test_model import make_tokenizer, one_thread, tiny_model  # noqa: F401 (autouse fixture)

MESSAGES = [{"role": "system", "content": "You are kiri."}, {"role": "user", "content": "Add two numbers."}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a file.",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
        },
    }
]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = tiny_model(vocab=320, seed=5, scale=3.0)
    return save_model(model, make_tokenizer("kiri"), tmp_path_factory.mktemp("ckpt") / "kiri-tiny")


def settings(path: Path | None, **kw) -> Settings:
    return Settings(backend="local", local_model_path=path, device="cpu", **kw)


def test_stream_reports_progress_blocks_usage_and_done(checkpoint: Path) -> None:
    backend = make_backend(settings(checkpoint))
    assert isinstance(backend, LocalBackend)
    backend.max_new_tokens, backend.block_length = 24, 8
    events = list(backend.stream(MESSAGES, TOOLS))

    assert isinstance(events[-1], Done) and isinstance(events[-2], Usage)
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress and all(p.total == 24 for p in progress)
    assert [p.done for p in progress] == sorted(p.done for p in progress) and progress[-1].done == 24

    model_tok = backend._load()[1]
    prompt = model_tok.encode(render_chat("kiri", to_text_messages(MESSAGES, TOOLS)))
    usage = events[-2]
    assert usage.prompt_tokens == len(prompt) and 1 <= usage.completion_tokens <= 24
    assert "read_file" in model_tok.decode(prompt)  # the tool description is in the prompt
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text and "<tool_call>" not in text

    # The same turn again is the same output (temperature 0), and the model was loaded once.
    loaded = backend._loaded
    again = list(backend.stream(MESSAGES, TOOLS))
    assert backend._loaded is loaded
    assert "".join(e.text for e in again if isinstance(e, TextDelta)) == text


def test_closing_the_stream_early_stops_generation(checkpoint: Path) -> None:
    backend = LocalBackend(settings(checkpoint), max_new_tokens=64, block_length=8)
    stream = backend.stream(MESSAGES, [])
    assert isinstance(next(stream), Progress)
    stream.close()  # joins the worker, which stops at its next step


def test_tool_call_written_across_blocks_becomes_a_tool_call() -> None:
    out = TextEvents()
    chunks = [
        "Let me look. <tool",
        '_call>{"name": "read_file", "argu',
        'ments": {"path": "app.py"}}</tool_call>',
    ]
    events = [e for c in chunks for e in out.feed(c)] + out.finish("stop", Usage(10, 3))
    assert events[0] == TextDelta("Let me look. ")
    assert not any(isinstance(e, TextDelta) and "tool" in e.text for e in events)
    call = next(e for e in events if isinstance(e, ToolCall))
    assert (
        call.name == "read_file" and json.loads(call.arguments) == {"path": "app.py"} and call.error is None
    )
    assert events[-2:] == [Usage(10, 3), Done("tool_calls")]


def test_missing_model_is_a_backend_error(tmp_path: Path) -> None:
    backend = LocalBackend(settings(tmp_path / "nowhere"))
    with pytest.raises(BackendError, match="nowhere"):
        list(backend.stream(MESSAGES, []))


def test_family_chat_template_is_used(checkpoint: Path) -> None:
    backend = LocalBackend(settings(checkpoint, temperature=0.0), max_new_tokens=24, block_length=8)
    events = list(backend.stream([{"role": "user", "content": "hi"}], []))
    tok = backend._load()[1]
    # Text streams block by block while denoising goes on: a TextDelta after the 8th step, before the 9th.
    kinds = [(type(e).__name__, getattr(e, "done", None)) for e in events]
    assert kinds.index(("TextDelta", None)) == kinds.index(("Progress", 8)) + 1
    assert ("Progress", 9) in kinds[kinds.index(("TextDelta", None)) :]
    assert events[-2].prompt_tokens == len(
        tok.encode("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")
    )
