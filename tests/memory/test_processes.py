"""Real processes: a writer killed with SIGKILL loses nothing committed; concurrent writers never collide."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from memory import Store

from .conftest import new_session, sqlite_url

REPO = Path(__file__).resolve().parents[2]


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


WRITER = """
    import sys
    from memory import Store
    store = Store(sys.argv[1])
    session_id = sys.argv[2]
    i = 0
    while True:  # until killed
        message_id = store.append_message(session_id, "user", f"message {i}")
        print(message_id, i, flush=True)  # printed only after the commit returned
        i += 1
"""


def test_sigkill_loses_no_committed_message(db_path: Path) -> None:
    url = sqlite_url(db_path)
    with Store(url) as store:
        session_id = new_session(store)
    child = _python(WRITER, url, session_id)
    printed: list[tuple[int, int]] = []
    try:
        while len(printed) < 40:
            line = child.stdout.readline()
            assert line, child.stderr.read()
            message_id, index = line.split()
            printed.append((int(message_id), int(index)))
    finally:
        child.send_signal(signal.SIGKILL)  # mid-write: the child is appending as fast as it can
        child.wait()
    assert child.returncode == -signal.SIGKILL

    with Store(url) as store:
        data = store.load(session_id)
        stored = {m.id: m.content for m in data.messages}
        for message_id, index in printed:
            assert stored[message_id] == f"message {index}"
        # Whatever got in after the last print is whole and in order: seqs have no gaps.
        assert [m.seq for m in data.messages] == list(range(len(data.messages)))
        assert data.session.message_count == len(data.messages) - 1
        store.append_message(session_id, "user", "the session goes on")
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


CONCURRENT = """
    import sys, time
    from pathlib import Path
    from memory import Store
    url, own, shared, writer, go = sys.argv[1:6]
    store = Store(url)
    print("ready", flush=True)
    while not Path(go).exists():
        time.sleep(0.005)
    for i in range(200):
        # Alternate: half into this writer's own session, half into the session all four share.
        store.append_message(shared if i % 2 else own, "user", f"{writer}:{i}")
    print("done", flush=True)
"""


def test_four_writers_two_hundred_messages_each(db_path: Path) -> None:
    url = sqlite_url(db_path)
    with Store(url) as store:
        shared = new_session(store, system_prompt=None)
        own = [new_session(store, system_prompt=None) for _ in range(4)]
    go = db_path.parent / "go"
    writers = [_python(CONCURRENT, url, own[w], shared, str(w), str(go)) for w in range(4)]
    for writer in writers:
        assert writer.stdout.readline().strip() == "ready", writer.stderr.read()
    go.touch()  # all four start writing at the same moment
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0 and out.strip() == "done", err  # no "database is locked"
        assert "locked" not in err

    with Store(url) as store:
        for w in range(4):
            contents = [m["content"] for m in store.messages_for_model(own[w])]
            assert contents == [f"{w}:{i}" for i in range(0, 200, 2)]
        data = store.load(shared)
        assert len(data.messages) == 400 and data.session.message_count == 400
        assert [m.seq for m in data.messages] == list(range(1, 401))
        for w in range(4):  # each writer's messages keep their order within the shared session
            mine = [m.content for m in data.messages if m.content.startswith(f"{w}:")]
            assert mine == [f"{w}:{i}" for i in range(1, 200, 2)]
        assert sum(s.message_count for s in store.list_sessions()) == 800
