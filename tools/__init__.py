"""tools: the agent's hands -- file, search, shell and git tools behind one permission gate.

Public face:
- `Registry` (`schemas()`, `call(name, arguments, ctx) -> ToolResult`, `names()`), `default_registry()`
- `ToolContext(workspace, gate, recorder)`, `ChangeRecorder`, `BatchRecorder`, `RecordedChange`, `ToolResult`
- `Gate(workspace, mode, approver, deny_patterns)`, `ApprovalRequest`
- `ToolError`, `PermissionDenied`, `UndoConflict`
- `tools.changes.undo(...)`, `tools.changes.net_diff(...)`, `tools.changes.StoreRecorder`
"""

from __future__ import annotations

from tools.context import BatchRecorder, ChangeRecorder, RecordedChange, ToolContext
from tools.errors import PermissionDenied, ToolError, UndoConflict
from tools.gate import ApprovalRequest, Gate
from tools.registry import Registry, ToolResult


def default_registry() -> Registry:
    """A registry with every tool, in the order the model sees them."""
    from tools.files import edit_file, read_file, write_file
    from tools.gittools import git_diff, git_log, git_status
    from tools.listing import glob, list_dir
    from tools.patch import apply_patch
    from tools.search import search
    from tools.shell import run_shell

    return Registry(
        [
            read_file,
            list_dir,
            glob,
            search,
            write_file,
            edit_file,
            apply_patch,
            run_shell,
            git_status,
            git_diff,
            git_log,
        ]
    )


__all__ = [
    "ApprovalRequest",
    "BatchRecorder",
    "ChangeRecorder",
    "Gate",
    "PermissionDenied",
    "RecordedChange",
    "Registry",
    "ToolContext",
    "ToolError",
    "ToolResult",
    "UndoConflict",
    "default_registry",
]
