"""Which process has a session open, and whether that process still runs.

A session is ``active`` only while a kiri process works on it. A process killed with SIGKILL (or a crash, or
a power cut) cannot record that it stopped, so the session records its owner instead: the pid, the process's
start time and the boot id (so that a pid reused by another process, or after a reboot, is not taken for the
owner) and the host name (a database shared between machines cannot see another host's processes).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

Owner = dict[str, Any]  # {"pid": int, "host": str, "boot": str | None, "start": str | None}


def current() -> Owner:
    """This process, as recorded on the sessions it opens."""
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "boot": _boot_id(), "start": _start_time(pid)}


def is_gone(owner: Owner | None) -> bool:
    """True when ``owner`` certainly no longer runs: same host, and its pid is free or now another process.

    False when it runs, and also when this cannot be known (no owner recorded, another host).
    """
    if not owner or owner.get("host") != socket.gethostname():
        return False
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    boot = _boot_id()
    if owner.get("boot") and boot and owner["boot"] != boot:
        return True  # rebooted since: every process of then is gone
    if not _exists(pid):
        return True
    start = _start_time(pid)
    return bool(owner.get("start") and start and owner["start"] != start)


def is_current(owner: Owner | None) -> bool:
    """True when ``owner`` is this very process."""
    return bool(owner) and owner == current()


def effective_status(status: str, owner: Owner | None) -> str:
    """The status to show: an ``active`` session whose owner is gone was interrupted (killed or crashed)."""
    return "interrupted" if status == "active" and is_gone(owner) else status


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    stat = _stat(pid)
    return stat is None or stat[0] != "Z"  # a zombie has exited; it only waits for its parent to reap it


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (Linux); None where there is no /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _start_time(pid: int) -> str | None:
    """When ``pid`` started, in clock ticks since boot (Linux); None where that cannot be read."""
    stat = _stat(pid)
    return stat[19] if stat is not None and len(stat) > 19 else None


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None
