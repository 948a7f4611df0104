"""Reading a child's output streams as they come, keeping only the head and tail of each."""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

CHUNK = 64 * 1024
# After the command's own process has exited, how long to wait for the pipes to close. A background child
# (`server &`) keeps them open forever; after this its output is no longer read and its writes get EPIPE.
DRAIN_AFTER_EXIT_S = 1.0


class HeadTail:
    """The first and last bytes of a stream, and how many there were: bounded whatever the stream's size."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.total = 0
        self._head = bytearray()
        self._tail = bytearray()

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.limit - len(self._head)
        if room > 0:
            self._head += chunk[:room]
        self._tail += chunk
        if len(self._tail) > 2 * self.limit:  # trim in batches, not on every chunk
            del self._tail[: len(self._tail) - self.limit]

    def text(self) -> str:
        """All of it if it fits in `limit` bytes, else head and tail with the cut said out loud."""
        if self.total <= self.limit:
            return bytes(self._head).decode("utf-8", "replace")
        half = self.limit // 2
        head = bytes(self._head[:half]).decode("utf-8", "replace")
        tail = bytes(self._tail[-half:]).decode("utf-8", "replace") if half else ""
        return f"{head}\n[... {self.total - self.limit} bytes of output cut from the middle ...]\n{tail}"


def read_head_tail(path: Path, limit: int) -> str:
    """A file's text as HeadTail(limit) would keep it, reading only its two ends: for output that a child wrote
    to a file (the warm pytest server), which may be far larger than anyone should hold in memory."""
    buffer = HeadTail(limit)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        buffer.feed(f.read(limit))
        if size > limit:
            f.seek(max(limit, size - limit))
            buffer.feed(f.read(limit))
            buffer.total = size  # the middle was skipped, not read: count it all the same
    return buffer.text()


def pump(
    proc: subprocess.Popen[bytes],
    streams: list[tuple[IO[bytes], HeadTail]],
    deadline: float,
    stop: Callable[[], bool] | None = None,
) -> bool:
    """Read `streams` into their buffers until they close (or DRAIN_AFTER_EXIT_S after `proc` exits), or
    until `deadline` (time.monotonic) passes or `stop()` is true. Returns True when it ended early for one of
    the last two; the caller kills the process and calls `pump` again to collect what is still buffered.

    Reading as output arrives means the child never blocks on a full pipe and nothing grows on disk.
    """
    with selectors.DefaultSelector() as sel:
        for stream, buffer in streams:
            if not stream.closed:
                sel.register(stream, selectors.EVENT_READ, buffer)
        exited_at: float | None = None
        while sel.get_map():
            now = time.monotonic()
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > DRAIN_AFTER_EXIT_S:
                break
            if now > deadline or (stop is not None and stop()):
                return True
            for key, _ in sel.select(timeout=min(0.1, max(0.0, deadline - now))):
                chunk = os.read(key.fd, CHUNK)
                if chunk:
                    key.data.feed(chunk)
                else:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
    return False


def close(streams: list[tuple[IO[bytes], HeadTail]]) -> None:
    """Close our ends: a background child still writing gets EPIPE rather than filling a pipe nobody reads."""
    for stream, _ in streams:
        stream.close()
