"""memory: kiri's session store.

Public face: ``Store`` (the one repository API), the records it returns (``SessionSummary``, ``SessionRecord``,
``SessionData``, ``Message``, ``ToolRun``, ``FileChange``) and the errors (``StoreError`` and its subclasses).
Importing the package is cheap: SQLAlchemy is loaded on first use of ``Store`` or a record type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import (
    AmbiguousSession,
    BlobNotFound,
    DatabaseUnavailable,
    SchemaTooNew,
    SessionInUse,
    SessionNotFound,
    StoreError,
)

if TYPE_CHECKING:
    from .records import FileChange, Message, SessionData, SessionRecord, SessionSummary, ToolRun
    from .store import Store

_LAZY = {
    "Store": "store",
    "SessionSummary": "records",
    "SessionRecord": "records",
    "SessionData": "records",
    "Message": "records",
    "ToolRun": "records",
    "FileChange": "records",
}

__all__ = [
    "AmbiguousSession",
    "BlobNotFound",
    "DatabaseUnavailable",
    "FileChange",
    "Message",
    "SchemaTooNew",
    "SessionData",
    "SessionInUse",
    "SessionNotFound",
    "SessionRecord",
    "SessionSummary",
    "Store",
    "StoreError",
    "ToolRun",
]


def __getattr__(name: str) -> object:
    # PEP 562: load the SQLAlchemy-backed parts only when asked for.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'memory' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)
