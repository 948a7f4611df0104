"""Process helpers shared by the tests that check a timeout really kills a process tree."""

from __future__ import annotations

import time
from pathlib import Path


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (a zombie is dead; it only waits to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def dies(pid: int, within: float = 10.0) -> bool:
    """Wait up to `within` seconds for `pid` to die.

    SIGKILL is delivered asynchronously: on a busy machine a killed process can still be scheduled for a few
    milliseconds after killpg() returns, and an orphan may never be reaped in a container without an init.
    """
    deadline = time.monotonic() + within
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
