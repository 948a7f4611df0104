"""Sessions: open or resume one (store, backend, tools, gate, recorder, agent), and ``run_task`` for ``agent run``.

The rendered system prompt is stored as the session's first message together with the prompt's name and
version, so a resumed session replays to the model exactly what it ran with.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import subprocess
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from agent.backends.base import Backend, make_backend
from agent.commands.common import open_store
from agent.context import ContextWindow
from agent.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_TASK_FAILED
from agent.loop import Agent, TurnResult
from agent.ui import IO

MAX_INSTRUCTIONS_CHARS = 20_000  # AGENTS.md files beyond this are cut (with a note) to protect the context


def _git(workspace: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=workspace, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def git_head(workspace: Path) -> str | None:
    """The commit checked out in `workspace`, or None outside git; recorded on each session."""
    return _git(workspace, "rev-parse", "HEAD")


def git_summary(workspace: Path) -> str:
    """``branch main, 2 modified, 1 untracked`` or ``not a git repository``."""
    branch = _git(workspace, "rev-parse", "--abbrev-ref", "HEAD")
    if branch is None:
        status = _git(workspace, "status", "--porcelain")
        if status is None:
            return "not a git repository"
        branch = "(no commits yet)"
    lines = (_git(workspace, "status", "--porcelain") or "").splitlines()
    untracked = sum(1 for line in lines if line.startswith("??"))
    changed = len(lines) - untracked
    parts = [f"branch {branch}"]
    parts.append(f"{changed} changed file(s)" if changed else "clean working tree")
    if untracked:
        parts.append(f"{untracked} untracked")
    return ", ".join(parts)


def _instructions(settings: Any) -> str:
    """The user's and the project's AGENTS.md, most general first, each marked with where it came from."""
    from agent.settings import user_config_path

    candidates = [user_config_path().parent / "AGENTS.md", settings.workspace_root / "AGENTS.md"]
    if settings.workspace != settings.workspace_root:
        candidates.append(settings.workspace / "AGENTS.md")
    parts = []
    for path in dict.fromkeys(candidates):
        try:
            text = path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue  # absent or unreadable: nothing to add
        if len(text) > MAX_INSTRUCTIONS_CHARS:
            text = text[:MAX_INSTRUCTIONS_CHARS] + "\n[... AGENTS.md truncated ...]"
        parts.append(f"# Instructions from {path}\n{text}")
    return "\n\n".join(parts)


def prompt_environment(settings: Any, **extra: Any) -> dict[str, Any]:
    """Everything the prompts are rendered with."""
    return {
        "workspace": str(settings.workspace),
        "os": f"{platform.system()} {platform.release()}",
        "date": date.today().isoformat(),
        "git": git_summary(settings.workspace),
        "project_instructions": _instructions(settings),
        **extra,
    }


class ShowingRecorder:
    """Records each file change in the store (for diff and undo) and shows its diff to the user."""

    def __init__(self, store: Any, session_id: str, io: IO) -> None:
        from tools.changes import StoreRecorder

        self._inner = StoreRecorder(store, session_id)
        self.io = io

    def record(self, path: str, before: bytes | None, after: bytes | None, diff: str) -> None:
        """Store first (nothing shown that is not recorded), then show."""
        self._inner.record(path, before, after, diff)
        self.io.diff(diff)

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
    **prompt_extra: Any,
) -> Session:
    """Resume ``session_id`` (any unique prefix) with its exact history, or start a new session."""
    from prompts import load_prompt
    from tools import Gate, ToolContext, default_registry

    store = store if store is not None else open_store(settings)
    usage = None
    if session_id is not None:
        session_id = store.resolve_id(session_id)
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
        text = prompt.render(**prompt_environment(settings, **prompt_extra))
        session_id = store.create_session(
            project_dir=str(settings.workspace_root), backend=settings.backend, model=settings.model,
            prompt_name=prompt.name, prompt_version=prompt.version, system_prompt=text,
            git_head=git_head(settings.workspace),
        )  # fmt: skip
        resumed = False
    backend = make_backend(settings)
    # Tools work from the project root, the directory the session is filed under: file changes are recorded
    # relative to it, so `agent undo` and `agent diff` resolve them against the same root from anywhere.
    gate = Gate(
        settings.workspace_root,
        mode=settings.approval,
        approver=io.approve,
        deny_patterns=settings.deny_patterns,
    )
    ctx = ToolContext(settings.workspace_root, gate, ShowingRecorder(store, session_id, io))
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
    )
    return Session(settings, store, io, session_id, agent, gate, backend, resumed)


STATUS = {"done": "done", "max_steps": "failed", "interrupted": "interrupted"}


def finish(session: Session, result: TurnResult, started: float) -> dict[str, Any]:
    """Record the outcome on the session, show usage, and return the summary ``--json`` prints."""
    from tools.changes import net_diff

    session.store.update_session(session.id, status=STATUS[result.status], usage=session.agent.usage)
    # Only --json prints the diff: rebuilding it for nothing costs a copy of every file changed.
    diff = net_diff(session.store, session.id) if session.settings.json_output else ""
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
    """0 answered, 1 step limit (said so in one line), 130 interrupted."""
    if result.status == "max_steps":
        session.io.error(
            f"stopped after {result.steps} steps without an answer (raise --max-steps to allow more)"
        )
        return EXIT_TASK_FAILED
    return EXIT_INTERRUPTED if result.status == "interrupted" else EXIT_OK


def run_task(settings: Any, task: str) -> int:
    """``agent run TASK``: one turn of the loop on a new session, without the REPL."""
    started = time.monotonic()
    io = IO.for_settings(settings)
    session = open_session(settings, io)
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
