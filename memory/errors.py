"""Errors the session store raises for problems a user can cause.

Every message is one line that names the database or the session involved, so the CLI can print it as is.
"""

from __future__ import annotations


class StoreError(Exception):
    """A problem with the session store that the user can fix (bad id, bad URL, unusable database)."""


class SessionNotFound(StoreError):
    """No session has the given id or id prefix."""


class AmbiguousSession(StoreError):
    """An id prefix matches more than one session."""


class SchemaTooNew(StoreError):
    """The database was migrated by a newer kiri than this one."""


class DatabaseUnavailable(StoreError):
    """The database cannot be opened or written: corrupt, locked, unwritable or unreachable."""


class BlobNotFound(StoreError):
    """No stored file snapshot has the given hash."""


class SessionInUse(StoreError):
    """Another running kiri process has the session open."""
