"""The per-session state every tool receives as its first argument."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from tools.gate import Gate
from tools.secrets import Secrets


@dataclass(frozen=True)
class RecordedChange:
    """One file change as it is recorded: path (workspace-relative), bytes and permission bits on each side.

    None for bytes means the file did not exist; None for a mode means absent or not known.
    """

    path: str
    before: bytes | None
    after: bytes | None
    diff: str
    before_mode: int | None = None
    after_mode: int | None = None


class ChangeRecorder(Protocol):
    """Receives every file change a tool makes (the loop stores it in memory and shows the diff)."""

    def record(self, path: str, before: bytes | None, after: bytes | None, diff: str) -> None:
        """Record one change of `path` (relative to the workspace); None means the file did not exist."""
        ...


@runtime_checkable
class BatchRecorder(ChangeRecorder, Protocol):
    """A recorder that also takes the changes of one tool call together, with their modes, all or none."""

    def record_changes(self, changes: Sequence[RecordedChange]) -> None:
        """Record every change or, raising, none of them (so a failed record can be rolled back on disk)."""
        ...


class StopRequest(Protocol):
    """Set when the user (or a SIGTERM) asked the running turn to stop; long-running tools poll it."""

    def is_set(self) -> bool:
        """True once a stop was asked for."""
        ...


def content_hash(data: bytes) -> str:
    """The hash kept to notice that a file changed since the model last saw it."""
    return hashlib.sha256(data).hexdigest()


@dataclass
class ToolContext:
    """What a tool may use: the workspace, the gate (its only way to the file system) and the recorder.

    `stop`, when given, is polled by tools that wait (a shell command is killed once it is set).
    `secrets` says what the processes a tool starts must not inherit (and what the loop redacts).
    `seen` maps a workspace-relative path to the hash of the content the model last read or wrote, so that
    `write_file` can refuse to overwrite a file the model has not read (or that changed since).
    """

    workspace: Path
    gate: Gate
    recorder: ChangeRecorder | None = None
    seen: dict[str, str] = field(default_factory=dict)
    stop: StopRequest | None = None
    secrets: Secrets = field(default_factory=Secrets)

    def __post_init__(self) -> None:
        self.workspace = Path(self.workspace)
        if self.workspace.resolve() != self.gate.workspace:
            raise ValueError(f"context workspace {self.workspace} is not the gate's {self.gate.workspace}")

    def remember(self, rel_path: str, data: bytes) -> None:
        """Note that the model now knows `rel_path` holds `data`."""
        self.seen[rel_path] = content_hash(data)

    def record(self, rel_path: str, before: bytes | None, after: bytes | None, diff: str) -> None:
        """Pass a change on to the recorder, when there is one."""
        if self.recorder is not None:
            self.recorder.record(rel_path, before, after, diff)

    def record_changes(self, changes: Sequence[RecordedChange]) -> None:
        """Pass the changes of one tool call on: together (with modes) to a BatchRecorder, else one by one."""
        if self.recorder is None:
            return
        if isinstance(self.recorder, BatchRecorder):
            self.recorder.record_changes(changes)
            return
        for c in changes:
            self.recorder.record(c.path, c.before, c.after, c.diff)
