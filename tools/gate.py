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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tools.deny import DEFAULT_DENY_RULES, DenyRule, check, deny_rule
from tools.errors import PermissionDenied, ToolError
from tools.limits import MAX_FILE_BYTES, check_file_size
from tools.protected import protection, refusal

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

    def read_bytes(
        self,
        path: str | os.PathLike[str],
        max_bytes: int | None = None,
        *,
        limit: int | None = MAX_FILE_BYTES,
    ) -> bytes:
        """Read a regular file inside the workspace (at most `max_bytes` when given).

        A whole read of a file over `limit` bytes is refused before anything is read (the size is taken from
        the open file), so no tool holds a huge file in memory; None lifts the limit.
        """
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
            if max_bytes is not None:
                return f.read(max_bytes)
            if limit is not None:
                check_file_size(self.relative(real), info.st_size, limit)
                return f.read(
                    limit + 1
                )  # a file growing under us stops here rather than at the end of the disk
            return f.read()

    def write_bytes(self, path: str | os.PathLike[str], data: bytes, mode: int | None = None) -> None:
        """Replace (or create) a file atomically: write a temporary file beside it, then rename over it.

        The file gets `mode` (permission bits) when given, else keeps the mode of the file it replaces; a new
        file gets `new_file_mode()`. The mode is set on the temporary file before the rename, so there is no
        moment when the path holds the new bytes with other permissions (a 0600 file is never 0644).
        The rename replaces a symlink swapped in at the last moment instead of writing through it.
        Approval is the caller's job (`approve_write`), so one approval can cover a multi-file patch.
        """
        real = self.resolve(path)
        if real == self.workspace:
            raise ToolError(f"{path} is a directory")
        _refuse_git_file(self.relative(real))  # also for a caller that skipped approve_write
        with self._parent_fd(real, create=True) as dfd:
            try:
                info = os.stat(real.name, dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                info = None
            if info is not None:
                if stat.S_ISDIR(info.st_mode):
                    raise ToolError(f"{path} is a directory")
                if stat.S_ISLNK(info.st_mode):
                    raise PermissionDenied(f"{path} became a symlink during the operation")
                if mode is None:
                    mode = stat.S_IMODE(info.st_mode)
            tmp = f".{real.name[:200]}.kiri-{secrets.token_hex(4)}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666, dir_fd=dfd)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    if mode is not None:
                        os.fchmod(f.fileno(), mode & 0o7777)
                os.replace(tmp, real.name, src_dir_fd=dfd, dst_dir_fd=dfd)
            except BaseException:
                with _suppress_missing():
                    os.unlink(tmp, dir_fd=dfd)
                raise

    def file_mode(self, path: str | os.PathLike[str]) -> int | None:
        """The permission bits of a file inside the workspace (`st_mode & 0o7777`); None when it is absent."""
        real = self.resolve(path)
        if real == self.workspace:
            raise ToolError(f"{path} is a directory")
        try:
            with self._parent_fd(real, create=False) as dfd:
                info = os.stat(real.name, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if stat.S_ISDIR(info.st_mode):
            raise ToolError(f"{path} is a directory")
        return stat.S_IMODE(info.st_mode)

    def delete(self, path: str | os.PathLike[str]) -> None:
        """Remove a file inside the workspace (nothing happens when it is already gone)."""
        real = self.resolve(path)
        if real == self.workspace:
            raise ToolError(f"{path} is a directory")
        _refuse_git_file(self.relative(real))
        try:
            with self._parent_fd(real, create=False) as dfd:
                os.unlink(real.name, dir_fd=dfd)
        except FileNotFoundError:
            pass

    # ----- approval --------------------------------------------------------------------------------------

    def approve_write(self, paths: str | Sequence[str], diff: str) -> None:
        """Allow a change of `paths` in `auto-edit`/`full-auto`; ask in `ask` mode. Raises PermissionDenied.

        A write into `.git/` or `.kiri/` is asked about in every mode but `full-auto`, each time (an earlier
        "always" does not cover it); a file named `.git` is refused in every mode.
        """
        rels = [self.relative(self.resolve(p)) for p in ((paths,) if isinstance(paths, str) else paths)]
        for rel in rels:
            _refuse_git_file(rel)
        if self.mode == "full-auto":
            return
        reasons = dict.fromkeys(r for r in map(protection, rels) if r)
        if reasons:
            # "always" is taken as a yes for this write only
            self._ask(
                ApprovalRequest(
                    "write", f"change {', '.join(rels)}: asked because {'; '.join(reasons)}", diff
                )
            )
            return
        if self.mode != "ask" or self._always_write:
            return
        if self._ask(ApprovalRequest("write", f"change {', '.join(rels)}", diff)) == "always":
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


def _refuse_git_file(rel: str) -> None:
    reason = refusal(rel)
    if reason:
        raise PermissionDenied(reason)


def new_file_mode() -> int:
    """The mode `write_bytes` gives a new file: 0o666 less the process umask, as `open(2)` would."""
    return 0o666 & ~_umask()


def executable(mode: int) -> int:
    """`mode` with an execute bit wherever it has a read bit (0644 -> 0755, 0600 -> 0700): never looser."""
    return mode | (mode & 0o444) >> 2


def _umask() -> int:
    # Linux shows the umask in /proc; elsewhere it can only be read by setting it, which another thread
    # creating a file at that instant would see, so that is the fallback only.
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o077)
    os.umask(old)
    return old


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
