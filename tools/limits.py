"""The size policy every tool follows: one place for how much a tool reads, edits or keeps of output."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tools.errors import ToolError

# The largest file a tool reads, edits or replaces whole. Beyond it a file does not fit in the model's context,
# and an edit would hold it (and the before bytes recorded for undo) in memory and in the session store.
MAX_FILE_BYTES = 20 * 1024 * 1024
# Output a command may print is unbounded; kiri keeps this many bytes of each stream (head and tail), in
# memory, while it runs. Nothing is spilled to disk.
STREAM_BYTES = 12_000
# A test run of `agent fix` keeps more: the failing tests are parsed from its summary, which sits at the end.
TEST_OUTPUT_BYTES = 1024 * 1024


def check_file_size(path: str, size: int, limit: int = MAX_FILE_BYTES) -> None:
    """Refuse a file over `limit`, naming it and what to use instead."""
    if size > limit:
        raise ToolError(
            f"{path} is {size} bytes, too large for the file tools (limit {limit} bytes; the old content of an "
            "edited file is also kept for undo); use run_shell with head, sed, grep or a script instead"
        )


def read_regular_prefix(path: Path, max_bytes: int) -> bytes | None:
    """At most `max_bytes` of the file at `path`; None when it is not a regular file (a FIFO, device, socket
    or directory). For files kiri reads on its own (AGENTS.md, @mentions): a repository may put anything there,
    so opening never waits for a FIFO's writer and a huge file costs no more than `max_bytes`. OSError
    (absent, unreadable) is the caller's to handle."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(max_bytes)
