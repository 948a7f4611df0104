"""Opening a database: URL resolution, SQLite connection settings, write transactions, error translation.

SQLite notes (why the settings are what they are):
- WAL lets readers run while one process writes; ``synchronous=NORMAL`` in WAL mode never corrupts and keeps
  every committed transaction across a killed process (only a power cut may lose the last few commits).
- pysqlite's own transaction handling starts a *deferred* transaction on the first write statement. A deferred
  transaction that later needs the write lock fails at once with "database is locked" when another process
  writes, whatever the busy timeout. So pysqlite's handling is switched off and every write transaction starts
  with ``BEGIN IMMEDIATE``, which takes the write lock up front and waits (busy_timeout) for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url

from .errors import DatabaseUnavailable, StoreError

DB_FILENAME = "kiri.sqlite3"
DEFAULT_BUSY_TIMEOUT_S = 30.0
_WRITE = "kiri_write"  # execution option: the transaction will write, take the lock at BEGIN
_NO_BEGIN = "kiri_no_begin"  # execution option: single read statement, run it in autocommit mode


def data_dir() -> Path:
    """Where kiri keeps user data (the database, input history): ``$KIRI_HOME``, else the user data dir."""
    home = os.environ.get("KIRI_HOME")
    if home:
        return Path(home).expanduser()
    import platformdirs  # only needed when no location was given

    return Path(platformdirs.user_data_dir("kiri"))


def default_url() -> str:
    """The default database: ``kiri.sqlite3`` in ``data_dir()``."""
    return URL.create("sqlite", database=str(data_dir() / DB_FILENAME)).render_as_string()


def describe(url: URL) -> str:
    """A name for the database fit for messages: the file path for SQLite, the URL without password otherwise."""
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def _prepare_sqlite_file(url: URL) -> None:
    """Create the database file's directory, turning OS errors into one clear line."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).expanduser()
    if path.is_dir():
        raise DatabaseUnavailable(f"database path {path} is a directory, not a file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DatabaseUnavailable(
            f"cannot create directory {path.parent} for database {path}: {err.strerror}"
        ) from err
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise DatabaseUnavailable(f"cannot write database {path}: directory {path.parent} is not writable")


def _configure_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    timeout_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001 (DBAPI objects are untyped)
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, see the module docstring
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_NO_BEGIN):
            return
        mode = "IMMEDIATE" if connection.get_execution_options().get(_WRITE) else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")


def open_engine(url: str | None, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> tuple[Engine, str]:
    """Create the engine for ``url`` (default: :func:`default_url`); return it with its printable name."""
    try:
        parsed = make_url(url or default_url())
    except exc.ArgumentError as err:
        raise StoreError(f"invalid database URL {url!r}: {err}") from err
    where = describe(parsed)
    sqlite = parsed.get_backend_name() == "sqlite"
    kwargs: dict = {}
    if sqlite:
        _prepare_sqlite_file(parsed)
        kwargs["connect_args"] = {"timeout": busy_timeout_s}
    elif parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": max(1, int(busy_timeout_s))}
    try:
        engine = create_engine(parsed, **kwargs)
    except exc.NoSuchModuleError as err:
        raise StoreError(f"unsupported database URL scheme {parsed.drivername!r} in {where}") from err
    except ModuleNotFoundError as err:
        hint = " (pip install 'kiri-agent[postgres]')" if parsed.get_backend_name() == "postgresql" else ""
        raise StoreError(
            f"the database driver for {parsed.drivername!r} is not installed: no module {err.name!r}{hint}"
        ) from err
    if sqlite:
        _configure_sqlite(engine, busy_timeout_s)
    return engine, where


def _one_line(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__


@contextmanager
def translate_errors(where: str) -> Iterator[None]:
    """Turn driver errors about the database itself (locked, corrupt, unreachable) into ``DatabaseUnavailable``.

    Integrity and programming errors are bugs in kiri, not user problems: they propagate unchanged.
    """
    try:
        yield
    except (exc.IntegrityError, exc.ProgrammingError, exc.DataError, exc.NotSupportedError):
        raise
    except (exc.OperationalError, exc.DatabaseError) as err:
        detail = _one_line(err)
        lowered = detail.lower()
        if "locked" in lowered or "busy" in lowered:
            message = f"database {where} is locked by another process (gave up waiting): {detail}"
        elif "not a database" in lowered or "malformed" in lowered or "encrypted" in lowered:
            message = f"database {where} is corrupt or not a kiri database: {detail}"
        elif "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
            message = f"cannot open database {where} for writing: {detail}"
        else:
            message = f"database {where} is unavailable: {detail}"
        raise DatabaseUnavailable(message) from err


@contextmanager
def transaction(engine: Engine, where: str, *, write: bool, snapshot: bool = True) -> Iterator[Connection]:
    """A connection inside one transaction, committed on success.

    ``write`` takes the write lock up front. ``snapshot=False`` (reads only) lets SQLite run each statement on
    its own, for callers that issue one query and need no consistent view across several.
    """
    with translate_errors(where), engine.connect() as connection:
        if write:
            connection.execution_options(**{_WRITE: True})
        elif not snapshot:
            connection.execution_options(**{_NO_BEGIN: True})
        with connection.begin():
            yield connection
