"""Run a project's tests, in place or in scratch copies: the verification half of `agent fix`.

Everything here drives real subprocesses. A test command is a shell string (users type `python -m pytest -q -x`
or `npm test`); it runs in its own process group so a timeout kills the whole tree, including a hung test that
forked helpers. Output goes to a temporary file rather than a pipe, so a chatty suite can never fill a pipe and
block while we wait on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from agent.warm import WarmPytest
from tools.capture import HeadTail, close, pump
from tools.limits import TEST_OUTPUT_BYTES
from tools.secrets import Secrets

# Directories never worth copying into a scratch workspace: VCS data, caches, environments, dependencies.
SCRATCH_IGNORE = (
    ".git",
    "__pycache__",
    ".venv",
    "venv",
    "node_modules",
    ".pytest_cache",
    ".mypy_cache",
    ".tox",
)

# pytest's short summary lines: "FAILED tests/test_x.py::test_a - AssertionError: ..." / "ERROR test_y.py".
_SUMMARY_RE = re.compile(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", re.MULTILINE)


@dataclass
class TestRun:
    """The outcome of one run of a test command."""

    __test__ = False  # not a pytest test class, despite the name

    passed: bool
    returncode: int
    output: str
    failed: list[str] = field(default_factory=list)  # pytest node ids, in the order pytest reported them
    timed_out: bool = False
    seconds: float = 0.0
    cancelled: bool = False  # stopped because another candidate already passed

    def summary(self) -> str:
        """One line for logs and the session record."""
        if self.cancelled:
            return f"cancelled after {self.seconds:.1f}s"
        if self.timed_out:
            return f"timed out after {self.seconds:.1f}s"
        if self.passed:
            return f"passed in {self.seconds:.1f}s"
        names = ", ".join(self.failed[:3]) + (" ..." if len(self.failed) > 3 else "")
        return f"failed (exit {self.returncode}) in {self.seconds:.1f}s" + (f": {names}" if names else "")


def detect_test_command(workspace: Path) -> str | None:
    """Guess the project's test command from its files, or None when nothing looks like a test suite."""
    ws = Path(workspace)
    if _looks_like_pytest(ws):
        return "python -m pytest -q"
    package = ws / "package.json"
    if package.is_file():
        with contextlib.suppress(OSError, ValueError):
            scripts = json.loads(package.read_text(encoding="utf-8")).get("scripts") or {}
            if isinstance(scripts, dict) and scripts.get("test"):
                return "npm test"
    if (ws / "Cargo.toml").is_file():
        return "cargo test"
    if (ws / "go.mod").is_file():
        return "go test ./..."
    for name in ("Makefile", "makefile", "GNUmakefile"):
        makefile = ws / name
        if makefile.is_file():
            with contextlib.suppress(OSError, UnicodeDecodeError):
                if re.search(r"^test\s*:", makefile.read_text(encoding="utf-8"), re.MULTILINE):
                    return "make test"
    return None


def _looks_like_pytest(ws: Path) -> bool:
    if (ws / "tests").is_dir() or (ws / "test").is_dir() or (ws / "pytest.ini").is_file():
        return True
    if any(ws.glob("test_*.py")) or any(ws.glob("*_test.py")) or (ws / "conftest.py").is_file():
        return True
    for name, marker in (
        ("pyproject.toml", "[tool.pytest"),
        ("setup.cfg", "[tool:pytest]"),
        ("tox.ini", "[pytest]"),
    ):
        path = ws / name
        if path.is_file():
            with contextlib.suppress(OSError, UnicodeDecodeError):
                if marker in path.read_text(encoding="utf-8"):
                    return True
    return False


def is_pytest(cmd: str) -> bool:
    """Whether a command runs pytest, so node ids can be appended to select tests."""
    return bool(re.search(r"(^|[\s/])(py\.test|pytest)(\s|$)", cmd))


def parse_failed(output: str) -> list[str]:
    """pytest node ids named in the short test summary of `output` (first occurrence order, no duplicates)."""
    seen: dict[str, None] = {}
    for match in _SUMMARY_RE.finditer(output):
        seen.setdefault(match.group(1).strip(), None)
    return list(seen)


def run_tests(
    workspace: Path,
    cmd: str,
    timeout: float,
    only: list[str] | None = None,
    *,
    cancel: threading.Event | None = None,
    env: dict[str, str] | None = None,
    warm: WarmPytest | None = None,
    secrets: Secrets | None = None,
) -> TestRun:
    """Run `cmd` in `workspace` with a wall-clock `timeout`; `only` restricts a pytest run to those node ids.

    `cancel`, when set by another thread, kills the run early (the result says `cancelled`); `env` adds
    variables for the child on top of this process's environment, less `secrets` (default: kiri's key
    variables). `warm`, a server started for this same `cmd`
    (see `command_env`), runs it without start-up cost; if the server has died, the command runs cold.
    """
    extra: list[str] = []
    if is_pytest(cmd):
        # -rfE: make sure the summary that names failing tests is printed whatever the user's addopts say.
        extra = ["-rfE", *(only or [])]
    full = " ".join([cmd, *(shlex.quote(word) for word in extra)])
    start = time.monotonic()
    if warm is not None and (done := warm.run(workspace, extra, timeout, cancel)) is not None:
        return _result(*done, timeout=timeout, seconds=time.monotonic() - start)
    env = command_env(env, secrets)
    try:
        proc = subprocess.Popen(
            full,
            shell=True,
            cwd=workspace,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # own process group: a timeout kills the whole tree
        )
    except OSError as exc:
        return TestRun(False, 127, f"cannot run {cmd!r}: {exc}", seconds=time.monotonic() - start)
    assert proc.stdout is not None
    # Read as it comes, head and tail kept: a test that prints without end neither fills the disk nor memory,
    # and the summary naming the failed tests is at the end, in the tail.
    sink = HeadTail(TEST_OUTPUT_BYTES)
    streams = [(proc.stdout, sink)]
    timed_out = cancelled = False
    try:
        stopped = pump(proc, streams, start + timeout, stop=cancel.is_set if cancel is not None else None)
        if not stopped:
            try:
                returncode = proc.wait(max(0.0, start + timeout - time.monotonic()))
            except subprocess.TimeoutExpired:
                stopped = True
        if stopped:
            timed_out = not (cancel is not None and cancel.is_set())
            cancelled = not timed_out
            _kill_group(proc)
            returncode = proc.wait()
            pump(proc, streams, time.monotonic() + 1.0)
    finally:
        close(streams)
    output = sink.text()
    return _result(
        returncode, output, timed_out, cancelled, timeout=timeout, seconds=time.monotonic() - start
    )


def command_env(extra: dict[str, str] | None = None, secrets: Secrets | None = None) -> dict[str, str]:
    """The environment test commands run in: ours, plus `extra`, without `secrets` or bytecode caches."""
    env = (secrets or Secrets()).child_env(extra=extra)
    # Candidates rewrite files within the same second and often keep their size (`<` -> `>`); a bytecode cache
    # keyed on mtime and size would then run the previous candidate's code.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _result(
    returncode: int, output: str, timed_out: bool, cancelled: bool, *, timeout: float, seconds: float
) -> TestRun:
    if timed_out:
        output += f"\n[kiri] test command timed out after {timeout:g}s and was killed\n"
    passed = returncode == 0 and not timed_out and not cancelled
    return TestRun(
        passed=passed,
        returncode=returncode,
        output=output,
        failed=[] if passed else parse_failed(output),
        timed_out=timed_out,
        seconds=seconds,
        cancelled=cancelled,
    )


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def scratch_copy(workspace: Path) -> Iterator[Path]:
    """A throwaway copy of `workspace` (without VCS data, caches and environments), removed on exit."""
    root = Path(tempfile.mkdtemp(prefix="kiri-scratch-"))
    copy = root / Path(workspace).resolve().name
    try:
        shutil.copytree(workspace, copy, ignore=shutil.ignore_patterns(*SCRATCH_IGNORE), symlinks=True)
        yield copy
    finally:
        shutil.rmtree(root, ignore_errors=True)


def verify_in(
    scratch: Path,
    files: dict[str, str],
    cmd: str,
    failing: list[str],
    timeout: float,
    *,
    cancel: threading.Event | None = None,
    warm: WarmPytest | None = None,
    secrets: Secrets | None = None,
) -> TestRun:
    """Write `files` (relative path -> new content) into `scratch`, run `failing` first, then the whole suite.

    The files are left as written; callers that reuse a scratch copy restore them (see `restore`).
    """
    for rel, text in files.items():
        target = scratch / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    if failing and is_pytest(cmd):
        first = run_tests(scratch, cmd, timeout, only=failing, cancel=cancel, warm=warm, secrets=secrets)
        if not first.passed:  # fail fast: the whole suite cannot pass either
            return first
    return run_tests(scratch, cmd, timeout, cancel=cancel, warm=warm, secrets=secrets)


def restore(scratch: Path, workspace: Path, files: list[str]) -> None:
    """Put the workspace's versions of `files` back into a reused scratch copy."""
    for rel in files:
        source, target = Path(workspace) / rel, scratch / rel
        if source.exists():
            shutil.copy2(source, target)
        else:
            target.unlink(missing_ok=True)


def verify_candidate(
    workspace: Path,
    files: dict[str, str],
    cmd: str,
    failing: list[str],
    timeout: float,
    *,
    cancel: threading.Event | None = None,
    secrets: Secrets | None = None,
) -> TestRun:
    """Check a candidate (new contents of some files) in a fresh scratch copy; the workspace is never touched."""
    with scratch_copy(workspace) as scratch:
        return verify_in(scratch, files, cmd, failing, timeout, cancel=cancel, secrets=secrets)
