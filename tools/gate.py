"""The one permission gate between a tool call and the file system or a subprocess.

It confines paths to the workspace (symlinks resolved), asks for approval according to the mode, and applies
deny rules to shell commands in every mode (`tools.deny`: matched on the parsed command, not its raw text). File reads and writes go through `read_bytes` / `write_bytes`,
which re-check the path right before opening and walk it with `O_NOFOLLOW` one directory at a time, so a
symlink swapped in after the check cannot redirect the operation outside.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tools.deny import DEFAULT_DENY_RULES, DenyRule, check, deny_rule
from tools.errors import PermissionDenied, ToolError

Mode = Literal["ask", "auto-edit", "full-auto"]
MODES: tuple[str, ...] = ("ask", "auto-edit", "full-auto")

MAX_PATH_BYTES = 4096  # PATH_MAX on Linux; longer names cannot be opened anyway
MAX_NAME_BYTES = 255  # NAME_MAX


@dataclass(frozen=True)
class ApprovalRequest:
    """What the approver is asked: a file write (with its diff) or a shell command."""

    kind: Literal["write", "shell"]
    summary: str
    diff: str | None = None


Approver = Callable[[ApprovalRequest], str]  # returns "yes" | "no" | "always"

__all__ = ["DEFAULT_DENY_RULES", "ApprovalRequest", "Approver", "DenyRule", "Gate", "Mode", "deny_rule"]


class Gate:
    """Confinement, approval and deny rules for one session's workspace."""

    def __init__(
        self,
        workspace: str | os.PathLike[str],
        mode: str = "ask",
        approver: Approver | None = None,
        deny_patterns: Iterable[str | re.Pattern[str]] = (),
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown approval mode {mode!r} (choose from {', '.join(MODES)})")
        real = os.path.realpath(workspace)
        if not os.path.isdir(real):
            raise ValueError(f"workspace {workspace} is not a directory")
        self.workspace = Path(real)
        self.mode = mode
        self.approver = approver
        self.deny_rules: tuple[DenyRule, ...] = DEFAULT_DENY_RULES + tuple(
            deny_rule(p) for p in deny_patterns
        )
        self._always_write = False
        self._always_shell: set[str] = set()

    # ----- confinement -----------------------------------------------------------------------------------

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """The real absolute path for `path` (relative to the workspace), refusing anything outside it."""
        text = os.fspath(path)
        if not isinstance(text, str):
            raise ToolError("paths must be text")
        if "\0" in text:
            raise PermissionDenied(f"path {text!r} contains a NUL byte")
        if not text.strip():
            raise ToolError("empty path: give a path relative to the workspace, e.g. 'src/main.py' or '.'")
        encoded = text.encode("utf-8", "surrogateescape")
        if len(encoded) > MAX_PATH_BYTES or any(len(p) > MAX_NAME_BYTES for p in encoded.split(b"/")):
            raise PermissionDenied(f"path is too long ({len(encoded)} bytes)")
        if text.startswith("~"):
            raise PermissionDenied(f"{text}: '~' is not expanded; use a path relative to the workspace")
        joined = os.path.join(self.workspace, text)
        real = os.path.realpath(joined)
        if self._inside(real):
            return Path(real)
        if os.path.isabs(text) and not self._inside(os.path.normpath(text)):
            reason = "is an absolute path outside the workspace"
        elif not self._inside(os.path.normpath(joined)):
            reason = "leads outside the workspace with '..'"
        else:
            reason = "goes through a symlink that points outside the workspace"
        raise PermissionDenied(f"{text} {reason} ({self.workspace}); only files inside it can be used")

    def relative(self, real: Path) -> str:
        """The workspace-relative form of a resolved path, with '/' separators ('.' for the root)."""
        rel = os.path.relpath(real, self.workspace)
        return rel.replace(os.sep, "/")

    def _inside(self, real: str) -> bool:
        root = str(self.workspace)
        return real == root or real.startswith(root.rstrip(os.sep) + os.sep)

    @contextmanager
    def _parent_fd(self, real: Path, *, create: bool) -> Iterator[int]:
        """An fd for the directory holding `real`, opened from the workspace one component at a time.

        Every component is opened with O_NOFOLLOW, so a directory replaced by a symlink after `resolve`
        makes the open fail instead of following it.
        """
        parts = Path(self.relative(real)).parts[:-1] if real != self.workspace else ()
        fd = os.open(self.workspace, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for part in parts:
                if create:
                    try:
                        os.mkdir(part, 0o777, dir_fd=fd)
                    except FileExistsError:
                        pass
                try:
                    nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_symlink(part, fd):
                        raise PermissionDenied(f"{part} became a symlink during the operation") from exc
                    raise
                os.close(fd)
                fd = nxt
            yield fd
        finally:
            os.close(fd)

    def read_bytes(self, path: str | os.PathLike[str], max_bytes: int | None = None) -> bytes:
        """Read a regular file inside the workspace (at most `max_bytes` when given)."""
        real = self.resolve(path)
        with self._parent_fd(real, create=False) as dfd:
            try:
                fd = os.open(real.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dfd)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise PermissionDenied(f"{path} became a symlink during the operation") from exc
                raise
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise ToolError(f"{path} is a directory")
            if not stat.S_ISREG(info.st_mode):
                raise ToolError(f"{path} is not a regular file")
            return f.read() if max_bytes is None else f.read(max_bytes)

    def write_bytes(self, path: str | os.PathLike[str], data: bytes) -> None:
        """Replace (or create) a file atomically: write a temporary file beside it, then rename over it.

        The rename replaces a symlink swapped in at the last moment instead of writing through it.
        Approval is the caller's job (`approve_write`), so one approval can cover a multi-file patch.
        """
        real = self.resolve(path)
        if real == self.workspace:
            raise ToolError(f"{path} is a directory")
        with self._parent_fd(real, create=True) as dfd:
            mode = None
            try:
                info = os.stat(real.name, dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                info = None
            if info is not None:
                if stat.S_ISDIR(info.st_mode):
                    raise ToolError(f"{path} is a directory")
                if stat.S_ISLNK(info.st_mode):
                    raise PermissionDenied(f"{path} became a symlink during the operation")
                mode = stat.S_IMODE(info.st_mode)
            tmp = f".{real.name[:200]}.kiri-{secrets.token_hex(4)}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666, dir_fd=dfd)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    if mode is not None:
                        os.fchmod(f.fileno(), mode)
                os.replace(tmp, real.name, src_dir_fd=dfd, dst_dir_fd=dfd)
            except BaseException:
                with _suppress_missing():
                    os.unlink(tmp, dir_fd=dfd)
                raise

    def delete(self, path: str | os.PathLike[str]) -> None:
        """Remove a file inside the workspace (nothing happens when it is already gone)."""
        real = self.resolve(path)
        if real == self.workspace:
            raise ToolError(f"{path} is a directory")
        try:
            with self._parent_fd(real, create=False) as dfd:
                os.unlink(real.name, dir_fd=dfd)
        except FileNotFoundError:
            pass

    # ----- approval --------------------------------------------------------------------------------------

    def approve_write(self, path: str, diff: str) -> None:
        """Allow a file change in `auto-edit`/`full-auto`; ask in `ask` mode. Raises PermissionDenied."""
        if self.mode != "ask" or self._always_write:
            return
        if self._ask(ApprovalRequest("write", f"change {path}", diff)) == "always":
            self._always_write = True

    def approve_shell(self, command: str) -> None:
        """Apply deny rules (every mode), then allow in `full-auto` or ask. Raises PermissionDenied."""
        self.check_command(command)
        if self.mode == "full-auto" or command in self._always_shell:
            return
        if self._ask(ApprovalRequest("shell", f"run: {command}")) == "always":
            self._always_shell.add(command)

    def check_command(self, command: str) -> None:
        """Refuse a command that matches a deny rule, or that cannot be checked against one."""
        # HOME and CDPATH are read now, not at construction: they mean to the shell what they mean now
        env = os.environ
        reason = check(command, self.deny_rules, str(self.workspace), env.get("HOME"), env.get("CDPATH"))
        if reason is not None:
            raise PermissionDenied(reason)

    def _ask(self, request: ApprovalRequest) -> str:
        if self.approver is None:
            raise PermissionDenied(
                f"{request.summary}: needs approval in '{self.mode}' mode and there is no one to ask "
                "(the user can allow it with --yes or a more permissive mode)"
            )
        answer = self.approver(request)
        if answer in ("yes", "always"):
            return answer
        raise PermissionDenied(
            f"the user declined: {request.summary}. Do not retry it as is; ask the user how to proceed."
        )


def _is_symlink(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


@contextmanager
def _suppress_missing() -> Iterator[None]:
    try:
        yield
    except FileNotFoundError:
        pass
