"""The one repository API over the session database (SQLite by default, any SQLAlchemy URL)."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from importlib import import_module
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    Text,
    bindparam,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)

from . import export as _export
from .engine import DEFAULT_BUSY_TIMEOUT_S, open_engine, transaction
from .errors import AmbiguousSession, BlobNotFound, SessionInUse, SessionNotFound, StoreError
from .migrations import migrate
from .opencalls import answer_open_calls
from .owner import Owner, effective_status, is_gone
from .records import (
    FileChange,
    Message,
    SessionData,
    SessionRecord,
    SessionSummary,
    ToolRun,
    from_epoch,
    openai_message,
)
from .schema import blobs, file_changes, messages, sessions, tool_runs
from .text import collapse_whitespace, replace_surrogates, truncate

MIN_PREFIX = 4  # shortest id prefix accepted by resolve_id
SHORT_ID_MIN = 8  # short ids in listings are at least this long
TITLE_MAX = 500  # automatic titles (first user message) are cut to this many characters
_HEX = frozenset("0123456789abcdef")

# Listing computes each id's neighbours in id order, so short ids are unique over the whole table; both are
# index seeks on the primary key.
_other = sessions.alias("other")
_LIST_COLUMNS = (
    sessions.c.id,
    sessions.c.created_at,
    sessions.c.updated_at,
    sessions.c.project_dir,
    sessions.c.model,
    sessions.c.backend,
    sessions.c.prompt_name,
    sessions.c.prompt_version,
    sessions.c.message_count,
    sessions.c.title,
    sessions.c.status,
    cast(sessions.c.owner, Text).label("owner"),
    select(func.max(_other.c.id)).where(_other.c.id < sessions.c.id).scalar_subquery().label("prev_id"),
    select(func.min(_other.c.id)).where(_other.c.id > sessions.c.id).scalar_subquery().label("next_id"),
)
_LIST_ORDER = (sessions.c.created_at.desc(), sessions.c.id.desc())
# Built once: constructing a statement costs more than SQLite takes to run it.
_LIST_ALL = select(*_LIST_COLUMNS).order_by(*_LIST_ORDER).limit(bindparam("limit"))
_LIST_PROJECT = (
    select(*_LIST_COLUMNS)
    .where(sessions.c.project_dir == bindparam("project_dir"))
    .order_by(*_LIST_ORDER)
    .limit(bindparam("limit"))
)
# JSON columns are read as text and decoded here, only where not NULL: half the cost of the JSON type's
# per-row processing when most messages carry no tool calls. The CAST makes PostgreSQL return text as well.
_SESSION_ROW = select(sessions).where(sessions.c.id == bindparam("session_id"))
_SESSION_TOOL_RUNS = (
    select(tool_runs).where(tool_runs.c.session_id == bindparam("session_id")).order_by(tool_runs.c.id)
)
_TOOL_CALLS_TEXT = cast(messages.c.tool_calls, Text).label("tool_calls")
_USAGE_TEXT = cast(messages.c.usage, Text).label("usage")
_LOAD_MESSAGES = (
    select(
        messages.c.id,
        messages.c.seq,
        messages.c.role,
        messages.c.content,
        _TOOL_CALLS_TEXT,
        messages.c.tool_call_id,
        messages.c.name,
        _USAGE_TEXT,
        messages.c.created_at,
    )
    .where(messages.c.session_id == bindparam("session_id"))
    .order_by(messages.c.seq)
)
_MODEL_MESSAGES = (
    select(messages.c.role, messages.c.content, _TOOL_CALLS_TEXT, messages.c.tool_call_id, messages.c.name)
    .where(messages.c.session_id == bindparam("session_id"))
    .order_by(messages.c.seq)
)
_scan_json = json.JSONDecoder().scan_once


def _loads(text: str, unreadable: Callable[[str], Any] = lambda text: None) -> Any:
    """``json.loads`` for text we stored with ``json.dumps``, without the decoder's Python-level wrapping.

    Calling the C scanner directly halves the cost per value, which is most of loading a long session. Text
    that does not decode (nesting too deep for the decoder, a database written by something else) gives
    ``unreadable(text)`` instead of an error: every stored session must stay loadable, to show and export.
    """
    try:
        try:
            value, end = _scan_json(text, 0)
        except StopIteration:
            end = -1
        return value if end == len(text) else json.loads(text)
    except (ValueError, RecursionError):
        return unreadable(text)


def _unreadable_calls(text: str) -> list[dict[str, Any]]:
    # One call that shows what is stored, so a transcript still says that tool calls were made.
    function = {"name": "(unreadable tool calls)", "arguments": text}
    return [{"id": "", "type": "function", "function": function}]


def _clean(value: Any) -> Any:
    """Text as it can be stored: SQLite drivers refuse lone surrogates, so they become U+FFFD."""
    return replace_surrogates(value) if isinstance(value, str) else value


def _short_id(session_id: str, prev_id: str | None, next_id: str | None) -> str:
    """The shortest prefix (at least SHORT_ID_MIN) that no other id shares; prev/next are its id neighbours."""
    short = session_id[:SHORT_ID_MIN]
    if not (prev_id and prev_id.startswith(short)) and not (next_id and next_id.startswith(short)):
        return short  # the common case, kept cheap for listings
    for other in (prev_id, next_id):
        # Only a neighbour sharing the first SHORT_ID_MIN characters forces a longer prefix (rare: 1 in 4e9).
        while other and len(short) < len(session_id) and other.startswith(short):
            short = session_id[: len(short) + 1]
    return short


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class Store:
    """Sessions, messages, tool runs and file changes, each committed as soon as it is recorded.

    ``url`` is any SQLAlchemy URL; None means the SQLite file ``kiri.sqlite3`` in ``$KIRI_HOME`` or the user
    data dir. Opening applies pending schema migrations. Methods taking a ``session_id`` want the full id
    (see :meth:`resolve_id` for prefixes) and raise ``SessionNotFound`` for an unknown one.
    """

    def __init__(self, url: str | None = None, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self._engine, self.where = open_engine(url, busy_timeout_s=busy_timeout_s)
        try:
            migrate(self._engine, self.where)
        except BaseException:
            self._engine.dispose()
            raise

    # -- lifecycle ---------------------------------------------------------------------------------------

    def close(self) -> None:
        """Release every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.where!r})"

    def _read(self, *, snapshot: bool = True):  # noqa: ANN202 (a context manager yielding Connection)
        # snapshot=False: a single query needs no transaction of its own, and skipping BEGIN/COMMIT shows
        # in the listing's time.
        return transaction(self._engine, self.where, write=False, snapshot=snapshot)

    def _write(self):  # noqa: ANN202
        return transaction(self._engine, self.where, write=True)

    # -- writing -----------------------------------------------------------------------------------------

    def create_session(
        self,
        *,
        project_dir: str | os.PathLike[str],
        backend: str,
        model: str,
        prompt_name: str,
        prompt_version: str,
        system_prompt: str | None,
        title: str | None = None,
        git_head: str | None = None,
        parent_id: str | None = None,
    ) -> str:
        """Start a session and store its rendered system prompt as message 0; return the new 32-hex id."""
        session_id = uuid.uuid4().hex
        now = time.time()
        title, system_prompt = _clean(title), _clean(system_prompt)
        with self._write() as conn:
            if parent_id is not None:
                self._require(conn, parent_id)
            conn.execute(
                insert(sessions).values(
                    id=session_id,
                    title=title,
                    project_dir=_clean(os.fspath(project_dir)),
                    git_head=git_head,
                    backend=backend,
                    model=model,
                    prompt_name=prompt_name,
                    prompt_version=prompt_version,
                    system_prompt=system_prompt,
                    created_at=now,
                    updated_at=now,
                    status="active",
                    parent_id=parent_id,
                    usage=None,
                    message_count=0,
                )
            )
            if system_prompt is not None:
                conn.execute(
                    insert(messages).values(
                        session_id=session_id, seq=0, role="system", content=system_prompt, created_at=now
                    )
                )
        return session_id

    def append_message(
        self,
        session_id: str,
        role: str,
        content: str | None,
        *,
        tool_calls: list[dict[str, Any]] | None = None,
        tool_call_id: str | None = None,
        name: str | None = None,
        usage: dict[str, Any] | None = None,
    ) -> int:
        """Append one message (OpenAI format) and commit it before returning its id.

        The sequence number comes from the session row, updated in the same write transaction, so concurrent
        writers to one session get distinct, gap-free numbers. The first user message becomes the title.
        """
        if content is not None and not isinstance(content, str):
            raise TypeError(f"message content must be a str or None, not {type(content).__name__}")
        content, tool_call_id, name = _clean(content), _clean(tool_call_id), _clean(name)
        now = time.time()
        values: dict[str, Any] = {
            "message_count": sessions.c.message_count + 1,
            "updated_at": now,
        }
        if role == "user" and content:
            values["title"] = func.coalesce(
                sessions.c.title, truncate(collapse_whitespace(content), TITLE_MAX)
            )
        with self._write() as conn:
            seq = conn.execute(
                update(sessions)
                .where(sessions.c.id == session_id)
                .values(values)
                .returning(sessions.c.message_count)
            ).scalar()
            if seq is None:
                raise SessionNotFound(f"no session with id {session_id!r} in {self.where}")
            return conn.execute(
                insert(messages)
                .values(
                    session_id=session_id,
                    seq=seq,
                    role=role,
                    content=content,
                    tool_calls=tool_calls,
                    tool_call_id=tool_call_id,
                    name=name,
                    usage=usage,
                    created_at=now,
                )
                .returning(messages.c.id)
            ).scalar_one()

    def record_tool_run(
        self,
        session_id: str,
        *,
        tool_call_id: str | None,
        name: str,
        arguments: str | dict[str, Any],
        result: str | None,
        duration_s: float | None,
        error: str | None = None,
        message_id: int | None = None,
        file_change_ids: Iterable[int] = (),
    ) -> int:
        """Record one tool execution; ``arguments`` given as a dict are stored as JSON text.

        ``file_change_ids``: the changes the tool made, recorded as they happened (so a kill mid-tool loses none),
        are linked to this run in the same transaction, so that undo takes back a whole tool call at once.
        """
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False)
        arguments, result, error, name = _clean(arguments), _clean(result), _clean(error), _clean(name)
        tool_call_id = _clean(tool_call_id)
        now = time.time()
        with self._write() as conn:
            self._touch(conn, session_id, now)
            run_id = conn.execute(
                insert(tool_runs)
                .values(
                    session_id=session_id,
                    message_id=message_id,
                    tool_call_id=tool_call_id,
                    name=name,
                    arguments=arguments,
                    result=result,
                    duration_s=duration_s,
                    error=error,
                    created_at=now,
                )
                .returning(tool_runs.c.id)
            ).scalar_one()
            ids = sorted(set(file_change_ids))
            if ids:
                conn.execute(
                    update(file_changes)
                    .where(file_changes.c.id.in_(ids), file_changes.c.session_id == session_id)
                    .values(tool_run_id=run_id)
                )
            return run_id

    def record_file_change(
        self,
        session_id: str,
        *,
        path: str | os.PathLike[str],
        before: bytes | None,
        after: bytes | None,
        diff: str,
        tool_run_id: int | None = None,
        before_mode: int | None = None,
        after_mode: int | None = None,
    ) -> int:
        """Record a file change with its before/after snapshots (None: the file was absent on that side).

        ``before_mode`` / ``after_mode``: the file's permission bits on each side, for undo to restore.
        """
        change = {"path": path, "before": before, "after": after, "diff": diff}
        change.update(before_mode=before_mode, after_mode=after_mode)
        return self.record_file_changes(session_id, [change], tool_run_id=tool_run_id)[0]

    def record_file_changes(
        self, session_id: str, changes: Iterable[Mapping[str, Any]], *, tool_run_id: int | None = None
    ) -> list[int]:
        """Record several file changes in one transaction, all or none; returns their ids in order.

        Each change is a mapping with the keywords of :meth:`record_file_change` (``path``, ``before``,
        ``after``, ``diff``, optional ``before_mode`` / ``after_mode``). A multi-file edit is recorded whole
        or not at all, so a failure (the disk is full) leaves no record of half of it.
        """
        now = time.time()
        ids: list[int] = []
        with self._write() as conn:
            self._touch(conn, session_id, now)
            for change in changes:
                values = {
                    "session_id": session_id,
                    "tool_run_id": tool_run_id,
                    "path": _clean(os.fspath(change["path"])),
                    "before_hash": self._put_blob(conn, change["before"]),
                    "after_hash": self._put_blob(conn, change["after"]),
                    "diff": _clean(change["diff"]),
                    "undone": False,
                    "created_at": now,
                    "before_mode": change.get("before_mode"),
                    "after_mode": change.get("after_mode"),
                }
                query = insert(file_changes).values(values).returning(file_changes.c.id)
                ids.append(conn.execute(query).scalar_one())
        return ids

    def mark_undone(self, change_ids: Iterable[int]) -> None:
        """Flag file changes as undone (they stay recorded); unknown ids raise ``StoreError`` and change nothing."""
        ids = sorted(set(change_ids))
        if not ids:
            return
        with self._write() as conn:
            done = conn.execute(
                update(file_changes).where(file_changes.c.id.in_(ids)).values(undone=True)
            ).rowcount
            if done != len(ids):
                found = set(conn.scalars(select(file_changes.c.id).where(file_changes.c.id.in_(ids))))
                missing = ", ".join(str(i) for i in ids if i not in found)
                raise StoreError(f"no file change with id {missing} in {self.where}")

    def update_session(
        self,
        session_id: str,
        *,
        status: str | None = None,
        title: str | None = None,
        usage: dict[str, Any] | None = None,
        model: str | None = None,
        compaction: dict[str, Any] | None = None,
    ) -> None:
        """Set the given fields (``usage`` replaces the stored totals); None leaves a field as it is.

        A status other than ``active`` also releases the session: its owner is cleared.
        """
        values: dict[str, Any] = {"updated_at": time.time()}
        if status is not None and status != "active":
            values["owner"] = None
        fields = (
            ("status", status),
            ("title", title),
            ("usage", usage),
            ("model", model),
            ("compaction", compaction),
        )
        for key, value in fields:
            if value is not None:
                values[key] = _clean(value)
        with self._write() as conn:
            if conn.execute(update(sessions).where(sessions.c.id == session_id).values(values)).rowcount == 0:
                raise SessionNotFound(f"no session with id {session_id!r} in {self.where}")

    def claim(self, session_id: str, owner: Owner) -> str:
        """Mark the session ``active`` and opened by ``owner`` (see memory.owner); return its status before, as
        a listing showed it (``interrupted`` when its last owner died).

        Raises ``SessionInUse`` while another process of this host that still runs has it open: two writers
        would interleave their turns in one history.
        """
        with self._write() as conn:
            row = conn.execute(
                select(sessions.c.status, cast(sessions.c.owner, Text)).where(sessions.c.id == session_id)
            ).one_or_none()
            if row is None:
                raise SessionNotFound(f"no session with id {session_id!r} in {self.where}")
            status, held = row[0], row[1] and _loads(row[1])
            if (
                status == "active"
                and held
                and held != owner
                and held.get("host") == owner.get("host")
                and not is_gone(held)
            ):
                raise SessionInUse(
                    f"session {session_id[:8]} is open in another kiri process (pid {held.get('pid')}); "
                    "leave it there first"
                )
            conn.execute(
                update(sessions)
                .where(sessions.c.id == session_id)
                .values(status="active", owner=owner, updated_at=time.time())
            )
        return effective_status(status, held)

    def answer_open_calls(self, session_id: str, content: str) -> int:
        """Store a tool message with ``content`` for every tool call that has no result (a kill mid-call), right
        after the results its assistant message does have; return how many were added.

        Later messages move up to make room, and a compaction that covers the assistant message covers its new
        results too, so the history is valid for the model and the same on every load.
        """
        with self._write() as conn:
            added = answer_open_calls(conn, session_id, content, now=time.time())
            if not added:
                self._require(conn, session_id)
        return added

    def fork(self, session_id: str) -> str:
        """Copy a session and its messages into a new session whose ``parent_id`` is the original.

        Tool runs and file changes stay with the original: they happened in its workspace, and undo must not
        revert them twice.
        """
        new_id = uuid.uuid4().hex
        now = time.time()
        copied = [
            c for c in sessions.c if c.name not in ("id", "created_at", "updated_at", "status", "parent_id")
        ]
        with self._write() as conn:
            self._require(conn, session_id)
            conn.execute(
                insert(sessions).from_select(
                    [c.name for c in copied] + ["id", "created_at", "updated_at", "status", "parent_id"],
                    select(
                        *copied,
                        literal(new_id),
                        literal(now),
                        literal(now),
                        literal("active"),
                        literal(session_id),
                    ).where(sessions.c.id == session_id),
                )
            )
            fields = ["seq", "role", "content", "tool_calls", "tool_call_id", "name", "usage", "created_at"]
            conn.execute(
                insert(messages).from_select(
                    ["session_id", *fields],
                    select(literal(new_id), *(messages.c[f] for f in fields)).where(
                        messages.c.session_id == session_id
                    ),
                )
            )
        return new_id

    def delete(self, session_id: str) -> None:
        """Delete a session with its messages, tool runs and file changes; drop snapshots no longer used.

        Forks of the session are kept (their ``parent_id`` becomes None).
        """
        with self._write() as conn:
            self._require(conn, session_id)
            hashes = set()
            for before_hash, after_hash in conn.execute(
                select(file_changes.c.before_hash, file_changes.c.after_hash).where(
                    file_changes.c.session_id == session_id
                )
            ):
                hashes.update(h for h in (before_hash, after_hash) if h)
            for table in (file_changes, tool_runs, messages):
                conn.execute(delete(table).where(table.c.session_id == session_id))
            conn.execute(update(sessions).where(sessions.c.parent_id == session_id).values(parent_id=None))
            conn.execute(delete(sessions).where(sessions.c.id == session_id))
            if hashes:
                conn.execute(
                    delete(blobs).where(
                        blobs.c.hash.in_(sorted(hashes)),
                        ~exists().where(file_changes.c.before_hash == blobs.c.hash),
                        ~exists().where(file_changes.c.after_hash == blobs.c.hash),
                    )
                )

    # -- reading -----------------------------------------------------------------------------------------

    def resolve_id(self, prefix: str) -> str:
        """The full id of the one session whose id starts with ``prefix`` (at least 4 hex characters)."""
        wanted = prefix.strip().lower()
        if len(wanted) < MIN_PREFIX:
            raise SessionNotFound(
                f"session id {prefix!r} is too short: give at least {MIN_PREFIX} characters of the id"
            )
        if not set(wanted) <= _HEX or len(wanted) > 32:
            raise SessionNotFound(
                f"no session with id {prefix!r} in {self.where} (ids are 32 hex characters)"
            )
        # A range on the primary key ("g" sorts after every hex digit) is an index seek on every backend,
        # unlike LIKE, which SQLite and non-C PostgreSQL collations cannot serve from the index.
        with self._read(snapshot=False) as conn:
            found = list(
                conn.scalars(
                    select(sessions.c.id)
                    .where(sessions.c.id >= wanted, sessions.c.id < wanted + "g")
                    .order_by(sessions.c.id)
                    .limit(6)
                )
            )
        if not found:
            raise SessionNotFound(f"no session with id {prefix!r} in {self.where}")
        if len(found) > 1:
            shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
            raise AmbiguousSession(
                f"session id {prefix!r} is ambiguous: it matches {shown}; give more characters"
            )
        return found[0]

    def list_sessions(
        self, *, project_dir: str | os.PathLike[str] | None = None, limit: int = 50
    ) -> list[SessionSummary]:
        """Sessions newest first, all projects or one ``project_dir``: one indexed query."""
        if project_dir is None:
            query, params = _LIST_ALL, {"limit": limit}
        else:
            query, params = _LIST_PROJECT, {"limit": limit, "project_dir": os.fspath(project_dir)}
        with self._read(snapshot=False) as conn:
            rows = conn.execute(query, params).all()
        return [
            SessionSummary(
                sid,
                _short_id(sid, prev, nxt),
                from_epoch(created),
                from_epoch(updated),
                project,
                model,
                backend,
                pname,
                pversion,
                count,
                title,
                effective_status(status, owner and _loads(owner)),
            )  # fmt: skip
            for sid, created, updated, project, model, backend, pname, pversion, count, title, status, owner, prev, nxt in rows  # fmt: skip
        ]

    def get_session(self, session_id: str) -> SessionRecord:
        """Every stored field of one session."""
        with self._read() as conn:
            return self._session_record(conn, session_id)

    def load(self, session_id: str) -> SessionData:
        """The whole session, read in one transaction: record, messages, tool runs and file changes, in order."""
        with self._read() as conn:
            record = self._session_record(conn, session_id)
            rows = conn.execute(_LOAD_MESSAGES, {"session_id": session_id}).all()
            loaded = [
                Message(
                    mid,
                    seq,
                    role,
                    content,
                    calls and _loads(calls, _unreadable_calls),
                    call_id,
                    name,
                    usage and _loads(usage),
                    from_epoch(created),
                )  # fmt: skip
                for mid, seq, role, content, calls, call_id, name, usage, created in rows
            ]
            runs = [
                ToolRun(
                    r.id,
                    r.message_id,
                    r.tool_call_id,
                    r.name,
                    r.arguments,
                    r.result,
                    r.duration_s,
                    r.error,
                    from_epoch(r.created_at),
                )  # fmt: skip
                for r in conn.execute(_SESSION_TOOL_RUNS, {"session_id": session_id}).all()
            ]
            changes = self._file_changes(conn, session_id, include_undone=True)
        return SessionData(record, loaded, runs, changes)

    def messages_for_model(self, session_id: str) -> list[dict[str, Any]]:
        """The session's messages as OpenAI request dicts, system prompt first, exactly as appended."""
        with self._read(snapshot=False) as conn:
            rows = conn.execute(_MODEL_MESSAGES, {"session_id": session_id}).all()
            if not rows:
                self._require(conn, session_id)
        return [
            openai_message(role, content, calls and _loads(calls, _unreadable_calls), call_id, name)
            for role, content, calls, call_id, name in rows
        ]

    def file_changes(self, session_id: str, include_undone: bool = False) -> list[FileChange]:
        """The session's file changes, oldest first; undone ones only when asked."""
        with self._read() as conn:
            changes = self._file_changes(conn, session_id, include_undone=include_undone)
            if not changes:
                self._require(conn, session_id)
        return changes

    def get_blob(self, hash: str) -> bytes:  # noqa: A002 (the contract's name)
        """The content of a stored file snapshot."""
        with self._read(snapshot=False) as conn:
            content = conn.scalar(select(blobs.c.content).where(blobs.c.hash == hash))
        if content is None:
            raise BlobNotFound(f"no file snapshot with hash {hash!r} in {self.where}")
        return bytes(content)

    def export(self, session_id: str, fmt: Literal["md", "json"] = "md") -> str:
        """The session as a Markdown transcript (``md``) or as complete JSON (``json``)."""
        renderers = {"md": _export.to_markdown, "json": _export.to_json}
        if fmt not in renderers:
            raise StoreError(f"unknown export format {fmt!r}: use 'md' or 'json'")
        return renderers[fmt](self.load(session_id))

    # -- helpers -----------------------------------------------------------------------------------------

    def _require(self, conn: Connection, session_id: str) -> None:
        if conn.scalar(select(literal(1)).where(sessions.c.id == session_id)) is None:
            raise SessionNotFound(f"no session with id {session_id!r} in {self.where}")

    def _touch(self, conn: Connection, session_id: str, now: float) -> None:
        if (
            conn.execute(update(sessions).where(sessions.c.id == session_id).values(updated_at=now)).rowcount
            == 0
        ):
            raise SessionNotFound(f"no session with id {session_id!r} in {self.where}")

    def _session_record(self, conn: Connection, session_id: str) -> SessionRecord:
        row = conn.execute(_SESSION_ROW, {"session_id": session_id}).one_or_none()
        if row is None:
            raise SessionNotFound(f"no session with id {session_id!r} in {self.where}")
        fields = row._asdict()
        # The owner is bookkeeping for the status, not part of the record: exports must not carry host names.
        fields["status"] = effective_status(fields["status"], fields.pop("owner"))
        fields["created_at"] = from_epoch(fields["created_at"])
        fields["updated_at"] = from_epoch(fields["updated_at"])
        return SessionRecord(**fields)

    def _file_changes(self, conn: Connection, session_id: str, *, include_undone: bool) -> list[FileChange]:
        query = (
            select(file_changes).where(file_changes.c.session_id == session_id).order_by(file_changes.c.id)
        )
        if not include_undone:
            query = query.where(file_changes.c.undone.is_(False))
        return [
            FileChange(
                r.id,
                r.session_id,
                r.tool_run_id,
                r.path,
                r.before_hash,
                r.after_hash,
                r.diff,
                bool(r.undone),
                from_epoch(r.created_at),
                r.before_mode,
                r.after_mode,
            )  # fmt: skip
            for r in conn.execute(query).all()
        ]

    def _put_blob(self, conn: Connection, content: bytes | None) -> str | None:
        """Store a snapshot once (content-addressed); return its hash, None for an absent file."""
        if content is None:
            return None
        digest = _sha256(content)
        values = {"hash": digest, "content": bytes(content), "size": len(content)}
        dialect = conn.dialect.name
        if dialect in ("sqlite", "postgresql"):
            # Two writers may store the same snapshot at once (PostgreSQL does not serialise writers). The
            # dialect module is imported here, not at the top: the PostgreSQL one adds 50 ms to every start.
            dialect_insert = import_module(f"sqlalchemy.dialects.{dialect}").insert
            conn.execute(dialect_insert(blobs).values(values).on_conflict_do_nothing(index_elements=["hash"]))
        elif conn.scalar(select(literal(1)).where(blobs.c.hash == digest)) is None:
            conn.execute(insert(blobs).values(values))
        return digest
