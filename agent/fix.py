"""``agent fix``: reproduce the failing tests, repair, verify by running them again, report.

Remote backend: the agent loop with the ``fix`` prompt. Local backend: draft-and-verify repair
(``agent.repair``), whose verified candidate is applied through the gate. Either way the verdict is the test
command's own: exit 0 only when it passes afterwards, 1 otherwise.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from agent.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_TASK_FAILED, UsageError
from agent.ui import IO

FAILURE_TAIL_CHARS = 8_000  # the end of a test log is where the failure summary is


def _tail(text: str, limit: int = FAILURE_TAIL_CHARS) -> str:
    return text if len(text) <= limit else "[... earlier output omitted ...]\n" + text[-limit:]


def fix_task(description: str | None, cmd: str, output: str) -> str:
    """The first user message of a remote fix session."""
    head = f"{description.strip()}\n\n" if description else ""
    return (
        f"{head}The test command `{cmd}` fails. Its output:\n```\n{_tail(output).rstrip()}\n```\n"
        "Find the cause and fix the code so that the command passes."
    )


def run_fix(settings: Any, description: str | None) -> int:
    """Run ``agent fix``; returns the exit code (0 verified, 1 not verified, 130 interrupted)."""
    from agent.verify import detect_test_command, run_tests

    started = time.monotonic()
    io = IO.for_settings(settings)
    workspace = Path(settings.workspace)
    cmd = settings.test_cmd or detect_test_command(workspace)
    if not cmd:
        raise UsageError(
            "no test command found (pytest, npm test, cargo test, go test, make test): pass --test-cmd"
        )
    io.info(f"reproducing: {cmd}")
    secrets = settings.secrets()
    first = run_tests(workspace, cmd, timeout=settings.shell_timeout, secrets=secrets)
    # The log is shown, stored and sent to the model: a test that prints a key must not carry it further.
    first = dataclasses.replace(first, output=secrets.redact(first.output))
    summary: dict[str, Any] = {"session_id": None, "verified": False, "files_changed": [], "diff": "",
                               "tokens": {"prompt_tokens": 0, "completion_tokens": 0}, "steps": 0}  # fmt: skip
    if first.passed:
        io.show(f"tests already pass ({cmd}): nothing to fix")
        return _report(settings, summary | {"verified": True}, started, EXIT_OK)
    io.show(f"tests fail ({cmd}):\n{_tail(first.output, 2_000).rstrip()}")
    if settings.backend == "local":
        status, session_id, store, steps, tokens = _local(settings, io, workspace, cmd, first, description)
    else:
        status, session_id, store, steps, tokens = _remote(settings, io, cmd, first, description)
    verified = False
    if status != "interrupted":
        io.info(f"verifying: {cmd}")
        final = run_tests(workspace, cmd, timeout=settings.shell_timeout, secrets=secrets)
        verified = final.passed
        if not verified:
            io.show(f"tests still fail:\n{_tail(secrets.redact(final.output), 2_000).rstrip()}")
    from tools.changes import net_diff

    diff = secrets.redact(net_diff(store, session_id))
    files = sorted({c.path for c in store.file_changes(session_id)})
    store.update_session(
        session_id, status="done" if verified else status if status == "interrupted" else "failed"
    )
    if diff and not settings.json_output:
        io.show("final diff:")
        io.diff(diff)
    io.show("fixed: the tests pass" if verified else "not fixed: the tests still fail")
    summary |= {"session_id": session_id, "verified": verified, "files_changed": files, "diff": diff,
                "tokens": tokens, "steps": steps}  # fmt: skip
    code = EXIT_INTERRUPTED if status == "interrupted" else EXIT_OK if verified else EXIT_TASK_FAILED
    return _report(settings, summary, started, code)


def _remote(
    settings: Any, io: IO, cmd: str, first: Any, description: str | None
) -> tuple[str, str, Any, int, dict]:
    from agent.session import open_session

    session = open_session(settings, io, prompt_name="fix", test_cmd=cmd)
    result = session.agent.run(fix_task(description, cmd, first.output))
    io.usage(result.usage, session.agent.usage)
    return result.status, session.id, session.store, result.steps, session.agent.usage


def _local(
    settings: Any, io: IO, workspace: Path, cmd: str, first: Any, description: str | None
) -> tuple[str, str, Any, int, dict]:
    from agent.commands.common import open_store
    from agent.repair import run_local_repair
    from agent.session import ShowingRecorder, git_head, prompt_environment, redacting_approver
    from prompts import load_prompt
    from tools import Gate
    from tools.errors import PermissionDenied
    from tools.textdiff import unified_diff

    store = open_store(settings)
    secrets = settings.secrets()
    prompt = load_prompt("fix")
    system_prompt = prompt.render(**prompt_environment(settings, warn=io.warn, test_cmd=cmd))
    root = Path(settings.workspace_root)
    session_id = store.create_session(
        project_dir=str(root), backend="local", model=settings.model, prompt_name=prompt.name,
        prompt_version=prompt.version, system_prompt=secrets.redact(system_prompt),
        git_head=git_head(root),
    )  # fmt: skip
    store.append_message(session_id, "user", fix_task(description, cmd, first.output))
    result = run_local_repair(settings, workspace, cmd, first, store, session_id, io)
    store.append_message(session_id, "assistant", secrets.redact(result.report) or None)
    if result.verified and result.candidate:
        # Verified in a scratch copy; now apply to the workspace, through the gate like any edit.
        # Through a gate at the project root, like the loop's tools, so undo resolves the recorded paths.
        approver = redacting_approver(io.approve, secrets)
        gate = Gate(root, mode=settings.approval, approver=approver, deny_patterns=settings.deny_patterns)
        recorder = ShowingRecorder(store, session_id, io, secrets)
        outcome = "applied"
        try:
            for rel, content in result.candidate.items():
                path = (workspace / rel).resolve().relative_to(root.resolve()).as_posix()
                before = gate.read_bytes(path)
                after = content.encode("utf-8")
                diff = unified_diff(path, before, after)
                gate.approve_write(path, diff)
                gate.write_bytes(path, after)
                recorder.record(path, before, after, diff)
        except PermissionDenied as exc:
            outcome = f"not applied: {exc.reason}"
            io.warn(outcome)
        # The write is a step of its own, like a tool call of the loop: `agent undo` takes it back in one go.
        store.record_tool_run(
            session_id, tool_call_id="repair-apply", name="apply_fix", arguments={"files": sorted(result.candidate)},
            result=outcome, duration_s=None, file_change_ids=recorder.take_change_ids(),
        )  # fmt: skip
    return "done", session_id, store, result.candidates_tried, {"prompt_tokens": 0, "completion_tokens": 0}


def _report(settings: Any, summary: dict[str, Any], started: float, code: int) -> int:
    summary["seconds"] = round(time.monotonic() - started, 3)
    if settings.json_output:
        print(json.dumps(summary, indent=2))
    return code
