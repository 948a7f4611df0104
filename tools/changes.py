"""File changes: the one way tools write (approve, write, record), and undo / net diff from the record.

`undo` and `net_diff` work on any store with the memory API (`file_changes`, `get_blob`, `mark_undone`,
`record_file_changes`); they import nothing from `memory/`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from tools.context import RecordedChange, ToolContext
from tools.errors import PermissionDenied, ToolError, UndoConflict
from tools.gate import Gate
from tools.textdiff import unified_diff

Change = tuple[str, bytes | None, bytes | None]  # (workspace-relative path, before, after); None: absent


def write_changes(ctx: ToolContext, changes: Sequence[Change], modes: Mapping[str, int] | None = None) -> str:
    """Apply file changes through the gate, all or none, and record them; returns the combined diff.

    `modes` gives the permission bits a file must have after the change (a patch's mode line, a rename
    carrying its source's mode); other files keep their mode, new ones get the gate's default. One approval
    covers all files (a multi-file patch is one decision). The files are written first and recorded together
    after; when a write or the record fails (the database is full, say), every file already written is put
    back, bytes and mode, before the error goes on: nothing stays on disk that the record does not know.
    """
    modes = modes or {}
    diffs = [
        _diff(rel, before, after, ctx.gate.file_mode(rel), modes.get(rel)) for rel, before, after in changes
    ]
    combined = "".join(diffs)
    ctx.gate.approve_write([rel for rel, _, _ in changes], combined)
    written: list[RecordedChange] = []
    # Rolled back on any exception, KeyboardInterrupt included: the rule holds whatever stopped the record,
    # and the exception itself goes on unchanged.
    try:
        for (rel, before, after), diff in zip(changes, diffs, strict=True):
            before_mode = ctx.gate.file_mode(rel)
            _put(ctx.gate, rel, after, modes.get(rel))
            after_mode = None if after is None else ctx.gate.file_mode(rel)
            written.append(RecordedChange(rel, before, after, diff, before_mode, after_mode))
        ctx.record_changes(written)
    except BaseException:
        for c in reversed(written):
            _put(ctx.gate, c.path, c.before, c.before_mode)
        raise
    for rel, _, after in changes:
        if after is None:
            ctx.seen.pop(rel, None)
        else:
            ctx.remember(rel, after)
    return combined


def _diff(rel: str, before: bytes | None, after: bytes | None, old: int | None, new: int | None) -> str:
    """The unified diff, with git's mode lines when an existing file's mode changes."""
    text = unified_diff(rel, before, after)
    if new is None or after is None:
        return text
    if before is None:
        return f"diff --git a/{rel} b/{rel}\nnew file mode {0o100000 | new:o}\n" + text
    if old is None or old == new:
        return text
    return f"diff --git a/{rel} b/{rel}\nold mode {0o100000 | old:o}\nnew mode {0o100000 | new:o}\n" + text


def _put(gate: Gate, rel: str, data: bytes | None, mode: int | None = None) -> None:
    if data is None:
        gate.delete(rel)
    else:
        gate.write_bytes(rel, data, mode)


class FileChangeRow(Protocol):
    """The fields of `memory.FileChange` that undo needs."""

    id: int
    path: str
    before_hash: str | None
    after_hash: str | None
    before_mode: int | None
    after_mode: int | None


class StoreRecorder:
    """A ChangeRecorder that writes to a memory store at once, remembering the ids of what it recorded.

    The tool run is stored after the tool returns; `take_change_ids()` hands the ids of the changes made
    since the last call to `store.record_tool_run(..., file_change_ids=...)`, which groups them under that run.
    """

    def __init__(self, store: Any, session_id: str) -> None:
        self.store = store
        self.session_id = session_id
        self._change_ids: list[int] = []

    def record(self, path: str, before: bytes | None, after: bytes | None, diff: str) -> None:
        """Store one change with its blobs and diff."""
        self.record_changes([RecordedChange(path, before, after, diff)])

    def record_changes(self, changes: Sequence[RecordedChange]) -> None:
        """Store the changes in one transaction: all of them, or (raising) none."""
        rows = [dataclasses.asdict(c) for c in changes]
        self._change_ids.extend(self.store.record_file_changes(self.session_id, rows))

    def take_change_ids(self) -> list[int]:
        ids, self._change_ids = self._change_ids, []
        return ids


def undo(
    store: Any,
    session_id: str,
    steps: int = 1,
    force: bool = False,
    workspace: str | os.PathLike[str] | None = None,
) -> list[str]:
    """Restore the files touched by the last `steps` changes of a session to their earlier bytes.

    A step is one tool call (changes sharing a tool run), or one file change when no run is recorded.
    Files created by those changes are deleted; the others get back their bytes and recorded mode. Refuses
    with UndoConflict, naming the files, when a file's current content is not what the agent last wrote,
    unless `force`. Returns the restored paths, newest change first.
    """
    if steps < 1:
        raise ToolError("steps must be at least 1")
    changes: list[FileChangeRow] = list(store.file_changes(session_id))
    if not changes:
        raise ToolError("nothing to undo: this session has no file changes left")
    selected = [c for group in _steps(changes)[-steps:] for c in group]
    root = Path(workspace) if workspace is not None else Path(store.load(session_id).session.project_dir)
    try:
        gate = Gate(root, mode="full-auto")
    except ValueError as exc:
        raise ToolError(f"cannot undo: {exc}") from exc
    newest: dict[str, FileChangeRow] = {}
    oldest: dict[str, FileChangeRow] = {}
    for c in selected:
        newest[c.path] = c
        oldest.setdefault(c.path, c)
    if not force:
        conflicts = [p for p, c in newest.items() if _current(gate, p) != _blob(store, c.after_hash)]
        if conflicts:
            raise UndoConflict(sorted(conflicts))
    for path, c in oldest.items():
        # The recorded mode, not the current one: a file made world-readable since must not stay so.
        _put(gate, path, _blob(store, c.before_hash), c.before_mode)
    store.mark_undone([c.id for c in selected])
    order = sorted(newest, key=lambda p: newest[p].id, reverse=True)
    return order


def net_diff(store: Any, session_id: str) -> str:
    """Per file, the diff from its state before the session's first change to after its last one.

    A mode change of a file that existed shows as git's `old mode` / `new mode` lines.
    """
    first: dict[str, FileChangeRow] = {}
    last: dict[str, FileChangeRow] = {}
    for c in store.file_changes(session_id):
        first.setdefault(c.path, c)
        last[c.path] = c
    parts = []
    for p in first:
        before, after = _blob(store, first[p].before_hash), _blob(store, last[p].after_hash)
        new_mode = last[p].after_mode if before is not None else None  # a created file: plain diff
        parts.append(_diff(p, before, after, first[p].before_mode, new_mode))
    return "".join(parts)


def _steps(changes: list[FileChangeRow]) -> list[list[FileChangeRow]]:
    groups: list[list[FileChangeRow]] = []
    for c in changes:
        run = getattr(c, "tool_run_id", None)
        if groups and run is not None and getattr(groups[-1][0], "tool_run_id", None) == run:
            groups[-1].append(c)
        else:
            groups.append([c])
    return groups


def _blob(store: Any, digest: str | None) -> bytes | None:
    return None if digest is None else store.get_blob(digest)


def _current(gate: Gate, rel: str) -> bytes | None:
    try:
        real = gate.resolve(rel)
    except PermissionDenied as exc:
        raise ToolError(f"cannot undo {rel}: {exc.reason}") from exc
    if not real.exists():
        return None
    if not real.is_file():
        return b""  # a directory or device now stands there: never equal to recorded content
    # `agent undo` is the user's own command, and it must compare whatever stands there now.
    return gate.read_bytes(real, limit=None)
