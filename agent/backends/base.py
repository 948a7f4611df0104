"""The backend protocol: messages and tool schemas in, a stream of events out.

A backend knows nothing of the loop, the store or the terminal. It turns OpenAI-format messages into whatever
its model needs and reports what the model produced as a flat sequence of small events, so the loop can stream
text to the user while tool calls are still being assembled.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class TextDelta:
    """A piece of the assistant's visible answer, in order."""

    text: str


@dataclass(frozen=True)
class ToolCall:
    """One complete tool call. ``arguments`` is the raw JSON text the model wrote (it may be invalid).

    ``error`` is set when the backend could not even make out a call (a malformed text-protocol block): the loop
    then answers the model with that message instead of running anything.
    """

    id: str
    name: str
    arguments: str
    error: str | None = None


@dataclass(frozen=True)
class Usage:
    """Token counts for one generation, as the server (or local model) reported them."""

    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Progress:
    """Progress of a long generation (local model denoising steps, for instance)."""

    done: int
    total: int


@dataclass(frozen=True)
class Done:
    """End of one generation: ``stop``, ``tool_calls``, ``length``, ..."""

    finish_reason: str


Event = TextDelta | ToolCall | Usage | Progress | Done


@runtime_checkable
class Backend(Protocol):
    """Anything that can generate from chat messages. ``tools`` is the OpenAI ``tools=[...]`` list (may be empty)."""

    def stream(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Iterator[Event]:
        """Yield events for one assistant turn; raise ``agent.errors.BackendError`` when the model is unreachable."""
        ...


# The one table of backends. Values are import paths so that choosing "remote" never imports torch and
# choosing "local" never imports openai.
BACKENDS: dict[str, str] = {
    "remote": "agent.backends.remote:RemoteBackend",
    "local": "agent.backends.local:LocalBackend",
}


def make_backend(settings: Any) -> Backend:
    """Build the backend named by ``settings.backend`` from ``BACKENDS``."""
    from agent.errors import UsageError

    name = settings.backend
    target = BACKENDS.get(name)
    if target is None:
        raise UsageError(f"unknown backend {name!r} (choose from: {', '.join(sorted(BACKENDS))})")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only the backend module itself missing is a usage problem; a missing dependency inside it is a bug.
        if exc.name != module_name:
            raise
        raise UsageError(f"backend {name!r} is not available in this installation") from exc
    return getattr(module, attr)(settings)
