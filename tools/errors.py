"""Exceptions that tools raise; the registry turns them into results for the model."""

from __future__ import annotations


class ToolError(Exception):
    """A failure the model caused or can fix (bad path, no match, ...): its message goes back to the model."""


class PermissionDenied(ToolError):
    """The gate refused the operation: outside the workspace, a deny rule, or the user said no."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UndoConflict(ToolError):
    """Undo refused because files changed outside the agent since it last wrote them."""

    def __init__(self, paths: list[str]) -> None:
        listed = ", ".join(paths)
        super().__init__(
            f"cannot undo: changed since the agent wrote them: {listed} (use --force to overwrite)"
        )
        self.paths = paths
