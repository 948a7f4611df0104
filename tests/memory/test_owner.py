"""Session owners: an active session whose process is gone is shown as interrupted; a live one is not taken."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory import SessionInUse, Store
from memory import owner as owners

from .conftest import new_session, sqlite_url


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store(sqlite_url(db_path)) as opened:
        yield opened


@pytest.fixture
def other_process() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    yield proc
    proc.kill()
    proc.wait()


def _owner_of(proc: subprocess.Popen[bytes]) -> owners.Owner:
    me = owners.current()
    return {**me, "pid": proc.pid, "start": owners._start_time(proc.pid)}


def test_a_dead_owner_is_gone_and_a_live_one_is_not(other_process: subprocess.Popen[bytes]) -> None:
    live = _owner_of(other_process)
    assert not owners.is_gone(live) and not owners.is_gone(owners.current())
    assert owners.is_gone({**live, "start": "1"})  # the pid now belongs to another process
    assert not owners.is_gone({**live, "host": socket.gethostname() + "-elsewhere"})  # cannot tell: kept
    assert not owners.is_gone(None)
    other_process.kill()
    other_process.wait()
    assert owners.is_gone(live)


def test_listing_shows_a_session_of_a_killed_process_as_interrupted(
    store: Store, other_process: subprocess.Popen[bytes]
) -> None:
    session_id = new_session(store)
    store.claim(session_id, _owner_of(other_process))
    assert store.list_sessions()[0].status == "active"
    other_process.kill()
    other_process.wait()
    assert store.list_sessions()[0].status == "interrupted"
    assert store.get_session(session_id).status == "interrupted"
    assert store.claim(session_id, owners.current()) == "interrupted"  # and resuming takes it over
    assert store.list_sessions()[0].status == "active"
    store.update_session(session_id, status="done")
    assert store.list_sessions()[0].status == "done"


def test_a_session_open_in_a_live_process_is_not_taken(
    store: Store, other_process: subprocess.Popen[bytes]
) -> None:
    session_id = new_session(store)
    store.claim(session_id, _owner_of(other_process))
    with pytest.raises(SessionInUse, match=rf"pid {other_process.pid}"):
        store.claim(session_id, owners.current())
    store.update_session(session_id, status="interrupted")  # it left: the owner is cleared
    assert store.claim(session_id, owners.current()) == "interrupted"


def test_the_owner_is_not_exported(store: Store) -> None:
    session_id = new_session(store)
    store.claim(session_id, owners.current())
    assert socket.gethostname() not in store.export(session_id, "json")
