"""Fixtures: SQLite files in tmp dirs, and a real PostgreSQL server started once per test run."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory import Store


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "kiri.sqlite3"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server as the `postgres` (or `nobody`) account then."""
    if os.geteuid() != 0:
        return cmd
    for user in ("postgres", "nobody"):
        if subprocess.run(["id", user], capture_output=True).returncode == 0:
            return ["runuser", "-u", user, "--", *cmd]
    pytest.skip("running as root and no unprivileged account (postgres, nobody) to run PostgreSQL as")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[dict[str, str]]:
    """A throwaway PostgreSQL cluster on a unix socket in a tmp dir; skipped only if initdb is not installed."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL tests need initdb and pg_ctl on PATH (not found)")
    pytest.importorskip("psycopg", reason="PostgreSQL tests need the psycopg driver (pip install psycopg)")
    root = Path(tempfile.mkdtemp(prefix="kiri-pg-"))
    root.chmod(0o777)  # the server account must be able to write here
    data, port = root / "data", _free_port()
    subprocess.run(
        _as_server_user(
            [initdb, "-D", str(data), "-U", "kiri", "-A", "trust", "--no-locale", "-E", "UTF8", "--no-sync"]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-k {root} -p {port} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
    subprocess.run(
        _as_server_user(
            [pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-o", options, "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield {"host": str(root), "port": str(port)}
    finally:
        subprocess.run(
            _as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


_db_numbers = itertools.count()


@pytest.fixture
def postgres_url(postgres_server: dict[str, str]) -> str:
    """A fresh, empty database on the shared server for each test."""
    import psycopg

    name = f"kiri_test_{os.getpid()}_{next(_db_numbers)}"
    with psycopg.connect(
        dbname="postgres",
        user="kiri",
        host=postgres_server["host"],
        port=postgres_server["port"],
        autocommit=True,
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://kiri@/{name}?host={postgres_server['host']}&port={postgres_server['port']}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same tests against SQLite and against a real PostgreSQL server."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "kiri.sqlite3")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as opened:
        yield opened


def new_session(
    store: Store, *, project_dir: str = "/work/proj", system_prompt: str | None = "You are kiri."
) -> str:
    return store.create_session(
        project_dir=project_dir,
        backend="remote",
        model="gpt-test",
        prompt_name="default",
        prompt_version="1.2.0",
        system_prompt=system_prompt,
    )
