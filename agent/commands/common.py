"""Helpers the commands share: opening the store, finding sessions, reading input, writing files."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from agent.errors import UsageError

if TYPE_CHECKING:
    from agent.settings import Settings
    from memory import Store


def open_store(settings: Settings) -> Store:
    """Open the session store named by the settings (memory's default SQLite file when unset)."""
    from memory import Store  # imported here: SQLAlchemy is not needed for --help

    return Store(settings.db_url)


def latest_session_id(store: Store, settings: Settings) -> str:
    """The newest session of this project (the workspace root), for commands whose ID is optional."""
    found = store.list_sessions(project_dir=str(settings.workspace_root), limit=1)
    if not found:
        raise UsageError(
            f"no sessions for {settings.workspace_root}; give a session ID (see `agent sessions --all`)"
        )
    return found[0].id


def session_id_or_latest(store: Store, settings: Settings, session_id: str | None) -> str:
    """Resolve a unique ID prefix, or take this project's latest session when none is given."""
    if session_id is None:
        return latest_session_id(store, settings)
    return store.resolve_id(session_id)


def read_text_argument(value: str | None, what: str, *, optional: bool = False) -> str | None:
    """The argument itself, or stdin when it is ``-`` or missing and stdin is piped. None when absent.

    An ``optional`` argument left out with empty (or closed) input is simply absent: scripts and CI run
    ``agent fix`` with no terminal and nothing on stdin.
    """
    if value == "-" or (value is None and not _stdin_is_tty()):
        text = sys.stdin.read() if sys.stdin is not None else ""
        if not text.strip():
            if optional and value is None:
                return None
            raise UsageError(f"no {what} on standard input")
        return text.strip()
    if value is not None and not value.strip():
        raise UsageError(f"the {what} is empty")
    return value


def _stdin_is_tty() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename, so readers never see half a file."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp_name, path)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def confirm(question: str, *, assume_yes: bool) -> None:
    """Ask a yes/no question in a terminal; without one, demand --yes instead of guessing."""
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{question.rstrip('?')}: refusing without confirmation; pass --yes")
    if not click.confirm(question, default=False, err=True):
        raise UsageError("cancelled")
