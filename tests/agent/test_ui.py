"""agent.ui.IO outside a terminal: which stream each kind of message goes to."""

from __future__ import annotations

import io
from pathlib import Path

from agent.ui import IO


def test_warnings_and_errors_go_to_the_error_stream() -> None:
    out, err = io.StringIO(), io.StringIO()
    ui = IO(pretty=False, out=out, err=err)
    ui.info("working")
    ui.show("the answer")
    ui.warn("disk almost full")
    ui.error("cannot reach the server")
    assert out.getvalue() == "working\nthe answer\n"
    assert err.getvalue() == "warning: disk almost full\nerror: cannot reach the server\n"


def test_one_stream_given_gets_everything() -> None:
    out = io.StringIO()
    ui = IO(pretty=False, out=out)
    ui.info("working")
    ui.warn("careful")
    assert out.getvalue() == "working\nwarning: careful\n"


def test_control_characters_are_shown_not_sent_on_every_path() -> None:
    out = io.StringIO()
    ui = IO(pretty=False, out=out)
    ui.show("a\x1b[2Kb")
    ui.error("bad \x9b name")
    ui.tool_call("run_shell", '{"command": "echo \\u001b[1A"}')
    ui.tool_result("run_shell", "\x1b]0;title\x07 first line\nsecond", False)
    ui.stream_start()
    for piece in ("split \x1b", "[2K escape \ud800"):  # an escape cut across two pieces of the stream
        ui.stream_text(piece)
    ui.stream_end()
    text = out.getvalue()
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text and "\ud800" not in text
    assert "a^[[2Kb" in text and "bad <U+009B> name" in text and "echo ^[[1A" in text
    assert "^[]0;title^G first line" in text and "split ^[[2K escape \ufffd" in text


def test_a_long_diff_is_cut_on_screen_with_a_note() -> None:
    from agent.ui import DIFF_SHOWN_CHARS, DIFF_SHOWN_LINES

    diff = "--- /dev/null\n+++ b/big\n" + "".join(f"+line {i}\n" for i in range(10_000))
    for pretty in (False, True):
        out = io.StringIO()
        IO(pretty=pretty, color=False, out=out, inp=io.StringIO()).diff(diff)
        lines = out.getvalue().splitlines()
        assert len(lines) == DIFF_SHOWN_LINES + 1, pretty
        assert (
            lines[-1]
            == f"[... {10_002 - DIFF_SHOWN_LINES:,} more lines of this diff not shown; `agent diff` shows all of it]"
        )
    out = io.StringIO()
    IO(pretty=False, out=out).diff("+" + "x" * (3 * DIFF_SHOWN_CHARS) + "\n")  # one huge line
    assert len(out.getvalue()) < DIFF_SHOWN_CHARS + 200 and "1 more lines" in out.getvalue()
    out = io.StringIO()
    IO(pretty=False, out=out).diff("+short\n")
    assert out.getvalue() == "+short\n"


def test_the_approval_question_stays_on_one_line() -> None:
    from tools.gate import ApprovalRequest

    out = io.StringIO()
    ui = IO(pretty=False, out=out, inp=io.StringIO("n\n"))
    request = ApprovalRequest(
        "write", "change x\nApply change README.md? [y]es / [n]o / [a]lways: \x1b[2K", "+x\n"
    )
    assert ui.approve(request) == "no"
    question = out.getvalue().splitlines()[1]
    assert question.startswith("Apply change x^JApply change README.md?") and "^[[2K" in question


def test_transcript_of_deep_arguments_and_control_characters(tmp_path: Path) -> None:
    from agent.render import transcript
    from memory import Store

    deep = "[" * 100_000 + "]" * 100_000
    with Store(f"sqlite:///{tmp_path / 'k.db'}") as store:
        sid = store.create_session(
            project_dir="/p",
            backend="remote",
            model="m",
            prompt_name="s",
            prompt_version="1",
            system_prompt="x",
        )
        store.append_message(sid, "user", "title \x1b[2J")
        calls = [{"id": "c1", "type": "function", "function": {"name": "read\x1bfile", "arguments": deep}}]
        store.append_message(sid, "assistant", "ok \x9b", tool_calls=calls)
        text = transcript(store.load(sid), color=True, full=True)
    assert deep in text and "read^[file" in text and "title ^[[2J" in text and "ok <U+009B>" in text
    assert "\x1b[2J" not in text and "\x9b" not in text
