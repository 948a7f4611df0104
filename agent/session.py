"""Sessions: open or resume one (store, backend, tools, gate, recorder, agent), and ``run_task`` for ``agent run``.

The rendered system prompt is stored as the session's first message together with the prompt's name and
version, so a resumed session replays to the model exactly what it ran with.

Opening a session claims it for this process (memory.owner), so that one whose process was killed is shown as
interrupted, not active. Resuming first answers the tool calls a kill left open, and stores those answers: the
model then gets a history it accepts, and every later resume sends the same bytes.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from agent.backends.base import Backend, make_backend
from agent.commands.common import open_store
from agent.context import ContextWindow
from agent.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_TASK_FAILED
from agent.instructions import load_instructions
from agent.interrupt import StopFlag, catching
from agent.loop import INTERRUPTED, Agent, TurnResult
from agent.ui import IO
from tools.context import RecordedChange
from tools.gate import ApprovalRequest
from tools.secrets import Secrets


def _git(workspace: Path, *commands: tuple[str, ...]) -> list[str | None]:
    """stdout of each read-only git command, through tools.gitexec (the repository's own programs switched
    off); None for one that fails, all None outside git or in a repository kiri refuses to use."""
    from tools.errors import ToolError
    from tools.gitexec import Git

    try:
        git = Git.open(workspace)
    except ToolError:
        return [None] * len(commands)
    out: list[str | None] = []
    for args in commands:
        try:
            out.append(git.run(*args).strip())
        except ToolError:
            out.append(None)
    return out


def git_head(workspace: Path) -> str | None:
    """The commit checked out in `workspace` (the project root), or None outside git; recorded on each
    session."""
    return _git(workspace, ("rev-parse", "HEAD"))[0]


def git_summary(workspace: Path) -> str:
    """``branch main, 2 modified, 1 untracked`` or ``not a git repository``."""
    branch, status = _git(workspace, ("rev-parse", "--abbrev-ref", "HEAD"), ("status", "--porcelain"))
    if status is None:
        return "not a git repository"
    lines = status.splitlines()
    untracked = sum(1 for line in lines if line.startswith("??"))
    changed = len(lines) - untracked
    parts = [f"branch {branch or '(no commits yet)'}"]
    parts.append(f"{changed} changed file(s)" if changed else "clean working tree")
    if untracked:
        parts.append(f"{untracked} untracked")
    return ", ".join(parts)


def _instructions(settings: Any, warn: Callable[[str], None]) -> str:
    from agent.settings import user_config_path

    return load_instructions(
        user_config_path().parent, Path(settings.workspace_root), Path(settings.workspace), warn
    )


def prompt_environment(
    settings: Any, *, warn: Callable[[str], None] | None = None, **extra: Any
) -> dict[str, Any]:
    """Everything the prompts are rendered with; `warn` hears about an AGENTS.md that was skipped."""
    return {
        "workspace": str(settings.workspace),
        "os": f"{platform.system()} {platform.release()}",
        "date": date.today().isoformat(),
        "git": git_summary(settings.workspace_root),
        "project_instructions": _instructions(settings, warn or (lambda _message: None)),
        **extra,
    }


class ShowingRecorder:
    """Records each file change in the store (for diff and undo) and shows its diff to the user."""

    def __init__(self, store: Any, session_id: str, io: IO, secrets: Secrets | None = None) -> None:
        from tools.changes import StoreRecorder

        self._inner = StoreRecorder(store, session_id)
        self.io = io
        self.secrets = secrets or Secrets()

    def record(self, path: str, before: bytes | None, after: bytes | None, diff: str) -> None:
        """Store first (nothing shown that is not recorded), then show.

        The snapshots stay exact, since undo must give back the user's bytes; the diff, which is shown and
        exported, has secrets redacted.
        """
        diff = self.secrets.redact(diff)
        self._inner.record(path, before, after, diff)
        self.io.diff(diff)

    def record_changes(self, changes: Sequence[RecordedChange]) -> None:
        """Store all of them first (all or none, so the caller can roll the disk back), then show.

        As in `record`, the snapshots stay exact and the diffs have secrets redacted.
        """
        from memory import StoreError  # loaded already: the store raising it is open

        redacted = [dataclasses.replace(c, diff=self.secrets.redact(c.diff)) for c in changes]
        try:
            self._inner.record_changes(redacted)
        except StoreError as exc:
            # write_changes puts the files back as this propagates; if that fails, its error replaces this
            paths = ", ".join(c.path for c in changes)
            raise type(exc)(f"{exc}; the change to {paths} was not recorded, so it was not made") from exc
        for change in redacted:
            self.io.diff(change.diff)

    def take_change_ids(self) -> list[int]:
        """Ids of the changes recorded since the last call (the loop links them to their tool run)."""
        return self._inner.take_change_ids()


@dataclass
class Session:
    """One open session and everything its turns need."""

    settings: Any
    store: Any
    io: IO
    id: str
    agent: Agent
    gate: Any
    backend: Backend
    resumed: bool = False
    status_before: str = "active"  # as a listing showed it before this process claimed the session
    outcome: str | None = None  # the stored status of this process's last turn (STATUS)

    def release(self) -> None:
        """Leave the session: record how its last turn ended (or what it was before) and clear the owner."""
        status = self.outcome or (self.status_before if self.status_before != "active" else "done")
        self.store.update_session(self.id, status=status, usage=self.agent.usage)

    def set_model(self, model: str) -> None:
        """Switch model (same backend kind) for the following turns; recorded on the session."""
        self.settings = dataclasses.replace(self.settings, model=model)
        self.backend = self.agent.backend = make_backend(self.settings)
        self.store.update_session(self.id, model=model)
        if self.agent.window is not None:
            self.agent.window = ContextWindow(self.settings.context_window(), model)

    def set_approval(self, mode: str) -> None:
        """Change the approval mode of the gate (``ask``, ``auto-edit``, ``full-auto``)."""
        from tools.gate import MODES

        if mode not in MODES:
            from agent.errors import UsageError

            raise UsageError(f"unknown approval mode {mode!r} (choose from {', '.join(MODES)})")
        self.gate.mode = mode
        self.settings = dataclasses.replace(self.settings, approval=mode)


def open_session(
    settings: Any,
    io: IO,
    session_id: str | None = None,
    *,
    prompt_name: str = "system",
    store: Any = None,
    stop: StopFlag | None = None,
    **prompt_extra: Any,
) -> Session:
    """Resume ``session_id`` (any unique prefix) with its exact history, or start a new session.

    ``stop`` is the flag the turns check for Ctrl-C, SIGTERM and SIGHUP (a new one when not given).
    """
    from memory import owner
    from prompts import load_prompt
    from tools import Gate, ToolContext, default_registry

    store = store if store is not None else open_store(settings)
    stop = stop if stop is not None else StopFlag()
    secrets = settings.secrets()
    usage = None
    if session_id is not None:
        session_id = store.resolve_id(session_id)
        status_before = store.claim(session_id, owner.current())
        # Stored, not only added to what is sent: `show` and `export` then agree with the model's view, and the
        # next resume finds nothing left to answer.
        store.answer_open_calls(session_id, f"Error: {INTERRUPTED} before this tool call completed")
        record = store.get_session(session_id)
        usage = record.usage
        # Resuming continues on the backend and model the session ran with, unless the user asked for others.
        if settings.sources.get("backend", "default").startswith("default") and record.backend:
            settings = dataclasses.replace(settings, backend=record.backend)
        if settings.sources.get("model", "default").startswith("default") and record.model:
            settings = dataclasses.replace(settings, model=record.model)
        resumed = True
    else:
        prompt = load_prompt(prompt_name)
        # AGENTS.md is the repository's text: whatever it managed to include, no key goes to the model or the store.
        text = secrets.redact(prompt.render(**prompt_environment(settings, warn=io.warn, **prompt_extra)))
        session_id = store.create_session(
            project_dir=str(settings.workspace_root), backend=settings.backend, model=settings.model,
            prompt_name=prompt.name, prompt_version=prompt.version, system_prompt=text,
            git_head=git_head(settings.workspace_root),
        )  # fmt: skip
        status_before = store.claim(session_id, owner.current())
        resumed = False
    backend = make_backend(settings)
    # Tools work from the project root, the directory the session is filed under: file changes are recorded
    # relative to it, so `agent undo` and `agent diff` resolve them against the same root from anywhere.
    gate = Gate(
        settings.workspace_root,
        mode=settings.approval,
        approver=redacting_approver(io.approve, secrets),
        deny_patterns=settings.deny_patterns,
    )
    ctx = ToolContext(
        settings.workspace_root,
        gate,
        ShowingRecorder(store, session_id, io, secrets),
        secrets=secrets,
        stop=stop,
    )
    window = ContextWindow(settings.context_window(), settings.model)
    counts = {k: int((usage or {}).get(k, 0)) for k in ("prompt_tokens", "completion_tokens")}
    agent = Agent(
        backend,
        default_registry(),
        ctx,
        store,
        session_id,
        io,
        settings.max_steps,
        window=window,
        usage=counts,
        secrets=secrets,
        stop=stop,
    )
    return Session(settings, store, io, session_id, agent, gate, backend, resumed, status_before)


def redacting_approver(
    approve: Callable[[ApprovalRequest], str], secrets: Secrets
) -> Callable[[ApprovalRequest], str]:
    """An approver that is shown the request with secrets redacted (a diff of a file that holds a key)."""

    def ask(request: ApprovalRequest) -> str:
        diff = secrets.redact(request.diff) if request.diff else request.diff
        return approve(dataclasses.replace(request, summary=secrets.redact(request.summary), diff=diff))

    return ask


STATUS = {"done": "done", "max_steps": "failed", "interrupted": "interrupted"}


def finish(session: Session, result: TurnResult, started: float) -> dict[str, Any]:
    """Record the outcome on the session, show usage, and return the summary ``--json`` prints."""
    from tools.changes import net_diff

    session.store.update_session(session.id, status=STATUS[result.status], usage=session.agent.usage)
    # Only --json prints the diff: rebuilding it for nothing costs a copy of every file changed.
    diff = (
        session.agent.secrets.redact(net_diff(session.store, session.id))
        if session.settings.json_output
        else ""
    )
    files = sorted({c.path for c in session.store.file_changes(session.id)})
    session.io.usage(result.usage, session.agent.usage)
    return {
        "session_id": session.id,
        "status": result.status,
        "answer": result.text,
        "files_changed": files,
        "diff": diff,
        "tokens": session.agent.usage,
        "steps": result.steps,
        "seconds": round(time.monotonic() - started, 3),
    }


def exit_code(session: Session, result: TurnResult) -> int:
    """0 answered, 1 step limit (said so in one line), 128 + the signal when stopped by one (130 for Ctrl-C)."""
    if result.status == "max_steps":
        session.io.error(
            f"stopped after {result.steps} steps without an answer (raise --max-steps to allow more)"
        )
        return EXIT_TASK_FAILED
    if result.status == "interrupted":
        return signal_exit_code(result.signum)
    return EXIT_OK


def signal_exit_code(signum: int | None) -> int:
    """The shell's convention: 128 + the signal number (SIGINT 130, SIGHUP 129, SIGTERM 143)."""
    return 128 + signum if signum else EXIT_INTERRUPTED


def run_task(settings: Any, task: str) -> int:
    """``agent run TASK``: one turn of the loop on a new session, without the REPL."""
    started = time.monotonic()
    io = IO.for_settings(settings)
    # From before the session exists: a signal while it is being opened stops the turn at its first safe point
    # instead of raising inside the store's code.
    with catching(StopFlag()) as stop:
        session = open_session(settings, io, stop=stop)
        io.info(f"session {session.id[:8]} · {settings.backend} · {settings.model}")
        try:
            result = session.agent.run(task)
        except BaseException:
            # A backend error (or anything else) ends the task: the session must not stay "active" forever.
            session.store.update_session(session.id, status="error", usage=session.agent.usage)
            raise
        summary = finish(session, result, started)
    if settings.json_output:
        print(json.dumps(summary, indent=2))
    return exit_code(session, result)
