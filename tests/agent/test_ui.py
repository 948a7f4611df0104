"""agent.ui.IO outside a terminal: which stream each kind of message goes to."""

from __future__ import annotations

import io

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
