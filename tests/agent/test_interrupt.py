"""agent.interrupt: stop signals become a flag for the duration of a block, and a hung stream is left at once."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from agent.interrupt import Interrupted, StopFlag, catching, interruptible, raising


def test_signals_set_the_flag_inside_the_block_and_handlers_come_back() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    outer, inner = StopFlag(), StopFlag()
    with catching(outer), catching(inner):
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs in this (main) thread before kill returns
        os.kill(os.getpid(), signal.SIGINT)
    assert (outer.signum, inner.signum) == (signal.SIGTERM, signal.SIGTERM)  # the first signal decides
    assert {s: signal.getsignal(s) for s in before} == before
    with pytest.raises(Interrupted):
        outer.check()
    outer.clear()
    outer.check()


def test_raising_turns_a_stop_into_keyboard_interrupt_for_blocking_reads() -> None:
    flag = StopFlag()
    with catching(flag), pytest.raises(KeyboardInterrupt), raising():
        os.kill(os.getpid(), signal.SIGHUP)
    assert flag.signum == signal.SIGHUP


def test_a_stream_that_hangs_is_left_as_soon_as_the_flag_is_set() -> None:
    release = threading.Event()
    closed = threading.Event()

    def hung() -> Iterator[str]:
        try:
            yield "first"
            release.wait(60)  # a server that sends nothing more
            yield "late"
        finally:
            closed.set()

    flag = StopFlag()
    seen = []
    with pytest.raises(Interrupted):
        for event in interruptible(hung(), flag):
            seen.append(event)
            flag.set(signal.SIGINT)
    assert seen == ["first"]
    release.set()
    assert closed.wait(30)  # the worker closed the stream once its read returned


def test_errors_of_the_stream_reach_the_consumer() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("bad chunk")

    got = []
    with pytest.raises(ValueError, match="bad chunk"):
        got.extend(interruptible(failing(), StopFlag()))
    assert got == [1]
