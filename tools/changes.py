"""File changes: the one way tools write (approve, write, record), and undo / net diff from the record.

`undo` and `net_diff` work on any store with the memory API (`file_changes`, `get_blob`, `mark_undone`,
`record_file_change`); they import nothing from `memory/`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from tools.context import ToolContext
from tools.errors import PermissionDenied, ToolError, UndoConflict
from tools.gate import Gate
from tools.textdiff import unified_diff

Change = tuple[str, bytes | None, bytes | None]  # (workspace-relative path, before, after); None: absent


def write_changes(ctx: ToolContext, changes: Sequence[Change]) -> str:
    """Apply file changes through the gate, all or none, and record them; returns the combined diff.

    One approval covers all files (a multi-file patch is one decision). When a write fails half-way, the
    files already written are put back before the error goes on.
    """
    diffs = [unified_diff(rel, before, after) for rel, before, after in changes]
    combined = "".join(diffs)
    ctx.gate.approve_write(", ".join(rel for rel, _, _ in changes), combined)
    done: list[Change] = []
    try:
        for change in changes:
            _put(ctx.gate, change[0], change[2])
            done.append(change)
    except (OSError, ToolError):
        for rel, before, _ in reversed(done):
            _put(ctx.gate, rel, before)
        raise
    for (rel, before, after), diff in zip(changes, diffs, strict=True):
        ctx.record(rel, before, after, diff)
        if after is None:
            ctx.seen.pop(rel, None)
        else:
            ctx.remember(rel, after)
    return combined


def _put(gate: Gate, rel: str, data: bytes | None) -> None:
    if data is None:
        gate.delete(rel)
    else:
        gate.write_bytes(rel, data)


class FileChangeRow(Protocol):
    """The fields of `memory.FileChange` that undo needs."""

    id: int
    path: str
    before_hash: str | None
    after_hash: str | None


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
        self._change_ids.append(
            self.store.record_file_change(self.session_id, path=path, before=before, after=after, diff=diff)
        )

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
    Files created by those changes are deleted. Refuses with UndoConflict, naming the files, when a file's
    current content is not what the agent last wrote, unless `force`. Returns the restored paths, newest
    change first.
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
        _put(gate, path, _blob(store, c.before_hash))
    store.mark_undone([c.id for c in selected])
    order = sorted(newest, key=lambda p: newest[p].id, reverse=True)
    return order


def net_diff(store: Any, session_id: str) -> str:
    """Per file, the diff from its state before the session's first change to after its last one."""
    first: dict[str, FileChangeRow] = {}
    last: dict[str, FileChangeRow] = {}
    for c in store.file_changes(session_id):
        first.setdefault(c.path, c)
        last[c.path] = c
    return "".join(
        unified_diff(p, _blob(store, first[p].before_hash), _blob(store, last[p].after_hash)) for p in first
    )


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
