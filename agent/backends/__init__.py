"""agent.backends: the backend protocol, its events and the table that picks a backend by name.

Public face: ``TextDelta``, ``ToolCall``, ``Usage``, ``Progress``, ``Done``, ``Event``, ``Backend``,
``BACKENDS``, ``make_backend``. Importing this package imports no model library.
"""

from agent.backends.base import (
    BACKENDS,
    Backend,
    Done,
    Event,
    Progress,
    TextDelta,
    ToolCall,
    Usage,
    make_backend,
)

__all__ = [
    "BACKENDS",
    "Backend",
    "Done",
    "Event",
    "Progress",
    "TextDelta",
    "ToolCall",
    "Usage",
    "make_backend",
]
