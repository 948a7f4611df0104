"""Stopping a running turn: SIGINT, SIGTERM and SIGHUP set a flag that the loop and the tools check.

A signal handler that raises (Python's default for SIGINT) lands wherever the main thread happens to be: inside
a SQLAlchemy event callback it is swallowed and the Ctrl-C is lost; half-way through a store write it would
leave the work half done. So while a command runs, the handlers installed here only record which signal
arrived, and the code checks the flag at safe points: between stream events, before and after each tool call,
and inside long waits (the shell tool polls it and kills its command's process group). The one place where
raising is right is a blocking read of the user's own input (an approval prompt): ``raising()`` marks it.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
POLL_S = 0.05  # how often a wait looks at the flag: the longest a stop request waits to be noticed

T = TypeVar("T")


class Interrupted(Exception):
    """Raised by kiri's own code at a safe point once a stop signal arrived; the loop catches it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopFlag:
    """Which stop signal arrived first, if any. Set from a signal handler or a test; read anywhere."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum: int | None = None

    def set(self, signum: int = signal.SIGINT) -> None:
        """Ask the running turn to stop; the first signal decides the exit code."""
        if self.signum is None:
            self.signum = signum
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early when a stop is requested; True if one was."""
        return self._event.wait(timeout)

    def clear(self) -> None:
        """Forget the request (the REPL does so once a turn has stopped)."""
        self._event.clear()
        self.signum = None

    def check(self) -> None:
        """A safe point: raise ``Interrupted`` when a stop was requested."""
        if self.signum is not None:
            raise Interrupted(self.signum)


_installed: list[StopFlag] = []  # the flags of the `catching` blocks now open, outermost first
_raising = 0  # > 0 while the main thread blocks in a read of the user's input (see `raising`)


def _handle(signum: int, frame: FrameType | None) -> None:
    for flag in _installed:
        flag.set(signum)
    if _raising:
        raise KeyboardInterrupt


@contextmanager
def catching(flag: StopFlag) -> Iterator[StopFlag]:
    """Route the stop signals to ``flag`` for the duration of the block, then restore the previous handlers.

    Blocks nest (``agent run`` opens one before the session is opened, the loop another for its turn): a signal
    sets the flag of every open block. Outside the main thread nothing is installed, as Python allows handlers
    only there; the flag can still be set by hand.
    """
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    outermost = not _installed
    _installed.append(flag)  # before the handlers, so that no signal finds an empty list
    previous = {signum: signal.signal(signum, _handle) for signum in STOP_SIGNALS} if outermost else {}
    try:
        yield flag
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _installed.remove(flag)


@contextmanager
def raising() -> Iterator[None]:
    """Inside this block a stop signal also raises KeyboardInterrupt: for blocking reads of the user's input,
    which would otherwise go on waiting for a line after Ctrl-C (or after SIGTERM, keeping the process alive)."""
    global _raising
    _raising += 1
    try:
        if any(flag.is_set() for flag in _installed):
            raise KeyboardInterrupt
        yield
    finally:
        _raising -= 1


def interruptible(events: Iterable[T], flag: StopFlag) -> Iterator[T]:
    """Yield from ``events``, consumed in a worker thread, and raise ``Interrupted`` as soon as ``flag`` is set.

    Why a thread: a backend blocked on a socket read (a hung server, a slow first token) would otherwise keep
    the loop from seeing the flag until the next byte or the HTTP timeout. On a stop the worker is told to
    finish; it closes the stream itself (a generator may only be closed by the thread running it) as soon as
    its read returns. It is a daemon, so a server that never answers cannot keep the process alive.
    """
    mailbox: queue.Queue[tuple[str, object]] = queue.Queue()
    cancel = threading.Event()
    worker = threading.Thread(
        target=_pump, args=(iter(events), mailbox, cancel), name="kiri-stream", daemon=True
    )
    worker.start()
    try:
        while True:
            flag.check()
            try:
                kind, payload = mailbox.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(payload, BaseException)
                raise payload
            flag.check()  # an event that arrived with the stop request is not shown
            yield payload  # type: ignore[misc]  # put by _pump from `events`, so a T
    finally:
        cancel.set()


def _pump(
    events: Iterator[object], mailbox: queue.Queue[tuple[str, object]], cancel: threading.Event
) -> None:
    try:
        for event in events:
            if cancel.is_set():
                break
            mailbox.put(("event", event))
    except BaseException as exc:  # noqa: BLE001 -- handed to the consumer's thread and raised there
        mailbox.put(("error", exc))
    else:
        mailbox.put(("end", None))
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
