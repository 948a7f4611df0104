"""The agent loop: generate, run the tool calls, feed the results back, until the model answers.

Every message is stored the moment it exists, so a crash or Ctrl-C loses nothing already shown, and the history
always stays valid for the model: each tool call gets a result message, "interrupted" if need be (after a kill,
resuming answers the calls left open: agent.session). Ctrl-C, SIGTERM and SIGHUP set a flag (agent.interrupt)
that the turn checks between stream events and around each tool call, so a store write is never cut in half.
Known secrets (the API key, configured secret variables) are redacted from every message before it is stored,
shown or sent.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from agent.backends.base import Backend, Done, Progress, TextDelta, ToolCall, Usage
from agent.context import ContextWindow, compacted_view, count_tokens, truncate_output
from agent.interrupt import Interrupted, StopFlag, catching, interruptible
from memory.text import replace_surrogates
from tools.secrets import Secrets

INTERRUPTED = "[interrupted by the user]"


@dataclass
class TurnResult:
    """How one user turn ended: ``done`` (answered), ``max_steps`` or ``interrupted`` (by ``signum``)."""

    status: str
    text: str
    steps: int
    usage: dict[str, int] = field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0})
    signum: int | None = None


class Agent:
    """Runs user turns against a backend, with tools from a registry, storing everything in ``store``."""

    def __init__(
        self,
        backend: Backend,
        registry: Any,
        ctx: Any,
        store: Any,
        session_id: str,
        io: Any,
        max_steps: int = 50,
        *,
        window: ContextWindow | None = None,
        messages: list[dict[str, Any]] | None = None,
        usage: dict[str, int] | None = None,
        secrets: Secrets | None = None,
        stop: StopFlag | None = None,
    ) -> None:
        self.secrets = secrets or Secrets()
        self.backend, self.registry, self.ctx, self.store = backend, registry, ctx, store
        self.stop = stop or StopFlag()
        # The tools poll the turn's flag: a stop kills a running shell command.
        if getattr(ctx, "stop", False) is None:
            ctx.stop = self.stop
        self.session_id, self.io, self.max_steps, self.window = session_id, io, max_steps, window
        # What the model is sent: the stored history, possibly compacted (the store keeps it whole). `dropped`
        # stored messages after the system prompt are replaced by a summary, as recorded on the session.
        compaction = store.get_session(session_id).compaction if messages is None else None
        self.dropped = compaction["dropped"] if compaction else 0
        if messages is None:
            messages = compacted_view(store.messages_for_model(session_id), compaction)
        self.messages = messages
        self.usage = dict(usage or {"prompt_tokens": 0, "completion_tokens": 0})  # session totals
        if window is not None:  # the tool schemas go with every request and count against the window
            window.overhead = count_tokens(json.dumps(registry.schemas()), window.model)
        self._errors: dict[str, str] = {}  # call id -> why the backend could not parse it
        self._pending: list[dict[str, Any]] = []  # tool calls of the last assistant message still unanswered

    def run(self, user_text: str) -> TurnResult:
        """One user turn: loop until the model answers without tool calls, the step limit, or a stop signal."""
        turn = TurnResult("max_steps", "", 0)
        with catching(self.stop):
            self._append({"role": "user", "content": user_text})
            try:
                while turn.steps < self.max_steps:
                    self.stop.check()
                    turn.steps += 1
                    if self.window is not None and self.window.over(self.messages):
                        self.compact()
                    reply = self._generate(turn)
                    turn.text = reply.get("content") or ""
                    if not reply.get("tool_calls"):
                        turn.status = "done"
                        break
                    while self._pending:
                        self.stop.check()
                        self._execute(self._pending[0])
            except (Interrupted, KeyboardInterrupt):
                # KeyboardInterrupt still comes from prompt-toolkit (Ctrl-C as a key at an approval prompt) and
                # from `interrupt.raising()` around blocking reads; both are outside library callbacks.
                self._settle()
                turn.status, turn.signum = "interrupted", self.stop.signum or signal.SIGINT
            self.store.update_session(self.session_id, usage=self.usage)
        self.stop.clear()  # only now: a signal that came while the turn was starting must still stop it
        return turn

    def compact(self) -> None:
        """Summarise older turns into one message so the next request fits the context window."""
        from prompts import load_prompt

        if self.window is None:
            return
        prompt = load_prompt("compact")
        done = self.window.compact(
            self.messages,
            self.backend,
            lambda transcript, words: prompt.render(transcript=transcript, max_words=words),
        )
        if done.usage is not None:
            self._count(done.usage)
        if done.summary is None:
            return
        summary = self.secrets.redact(done.summary)
        # An earlier summary (the view's second message) is among what was replaced, but it is not stored.
        self.dropped += done.replaced - (1 if self.dropped else 0)
        self.messages = self.secrets.redact_json(done.messages)
        # Recorded, so that a resumed session sends the model exactly this again.
        self.store.update_session(self.session_id, compaction={"summary": summary, "dropped": self.dropped})
        self.io.info(f"compacted {done.replaced} earlier messages into a summary")

    # -- steps --------------------------------------------------------------------------------------------------

    def _generate(self, turn: TurnResult) -> dict[str, Any]:
        """Stream one assistant message to the user and store it (with its tool calls)."""
        parts: list[str] = []
        calls: list[ToolCall] = []
        usage: Usage | None = None
        # A model may echo a secret: never on the screen, even split across deltas.
        shown = self.secrets.stream()
        self.io.stream_start()
        try:
            for event in interruptible(
                self.backend.stream(self.messages, self.registry.schemas()), self.stop
            ):
                if isinstance(event, TextDelta):
                    text = replace_surrogates(event.text)  # as the store keeps it, so a resume sends the same
                    parts.append(text)
                    self.io.stream_text(shown.feed(text))
                elif isinstance(event, ToolCall):
                    calls.append(event)
                elif isinstance(event, Usage):
                    usage = event
                elif isinstance(event, Progress):
                    self.io.progress(event.done, event.total)
                elif isinstance(event, Done) and event.finish_reason == "length":
                    self.io.warn("the model hit its output limit; the answer may be cut short")
        except (Interrupted, KeyboardInterrupt):
            # Keep what the user saw, marked as cut off; tool calls not yet complete are dropped.
            self.io.stream_text(shown.flush())
            self.io.stream_end()
            self._append({"role": "assistant", "content": ("".join(parts) + "\n" + INTERRUPTED).strip()})
            raise
        self.io.stream_text(shown.flush())
        self.io.stream_end()
        message: dict[str, Any] = {"role": "assistant", "content": "".join(parts) or None}
        if calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name or "invalid", "arguments": c.arguments},
                }
                for c in calls
            ]
        self._errors = {c.id: c.error for c in calls if c.error}
        if usage is not None:
            self._count(usage, turn)
            if self.window is not None:
                self.window.observe(usage, len(self.messages))
        # Stored, sent back and executed redacted alike: what ran is what the history says ran, and a secret the
        # model echoes cannot be written into a file or a command line.
        stored = self._append(message, usage=usage)
        self._pending = list(stored.get("tool_calls", []))
        return stored

    def _execute(self, call: dict[str, Any]) -> None:
        """Run one tool call through the registry (and its gate); store the run and the result message."""
        name, arguments = call["function"]["name"], call["function"]["arguments"]
        self.io.tool_call(name, arguments)
        started = time.monotonic()
        error = self._errors.get(call["id"])
        if error is not None:
            content, is_error = f"Error: {error}", True
        else:
            result = self.registry.call(name, arguments, self.ctx)
            content, is_error = result.content, result.is_error
        content = self.secrets.redact(
            content
        )  # a file or command output may hold a key: not stored, not sent
        duration = time.monotonic() - started
        self.io.tool_result(name, content, is_error)
        limit = self.window.max_tool_chars if self.window is not None else 40_000
        self._answer(call, truncate_output(content, limit))
        take = getattr(self.ctx.recorder, "take_change_ids", None)  # a recorder need not track ids
        self.store.record_tool_run(
            self.session_id, tool_call_id=call["id"], name=name, arguments=_as_text(arguments),
            result=content, duration_s=duration, error=content if is_error else None,
            file_change_ids=take() if take else (),
        )  # fmt: skip

    def _settle(self) -> None:
        """After Ctrl-C: answer every call still pending, so the history stays valid for the next request."""
        for call in list(self._pending):
            self._answer(call, f"Error: {INTERRUPTED} before this tool call completed")
        self.io.warn("interrupted")

    # -- bookkeeping --------------------------------------------------------------------------------------------

    def _answer(self, call: dict[str, Any], content: str) -> None:
        name = call["function"]["name"]
        self._append({"role": "tool", "tool_call_id": call["id"], "name": name, "content": content})
        self._pending.remove(call)

    def _append(self, message: dict[str, Any], usage: Usage | None = None) -> dict[str, Any]:
        message = self.secrets.redact_json(message)
        self.store.append_message(
            self.session_id, message["role"], message.get("content"), tool_calls=message.get("tool_calls"),
            tool_call_id=message.get("tool_call_id"), name=message.get("name"),
            usage={"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens} if usage else None,
        )  # fmt: skip
        # Same keys in the same order as the store gives back, so a resumed session sends identical bytes.
        canonical = {"role": message["role"], "content": message.get("content")}
        canonical |= {
            k: message[k] for k in ("tool_calls", "tool_call_id", "name") if message.get(k) is not None
        }
        self.messages.append(canonical)
        return canonical

    def _count(self, usage: Usage, turn: TurnResult | None = None) -> None:
        for totals in (self.usage, turn.usage if turn else None):
            if totals is not None:
                totals["prompt_tokens"] += usage.prompt_tokens
                totals["completion_tokens"] += usage.completion_tokens


def _as_text(arguments: str | dict[str, Any]) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)
