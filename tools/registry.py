"""The registry: tool schemas for the model, and one `call` that validates, runs and caps a tool call."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from memory.text import replace_surrogates
from tools.context import ToolContext
from tools.errors import PermissionDenied, ToolError
from tools.schema import ArgumentError, ToolSpec, check_arguments, spec_for
from tools.truncate import cap_middle

MAX_RESULT_CHARS = 30_000


@dataclass(frozen=True)
class ToolResult:
    """What goes back to the model: the text, whether the call failed, and whether the gate refused it."""

    content: str
    is_error: bool = False
    denied: bool = False


class Registry:
    """A set of tools, each a typed function `f(ctx, ...) -> str` with a docstring."""

    def __init__(self, funcs: Iterable[Callable[..., str]] = (), max_chars: int = MAX_RESULT_CHARS) -> None:
        self._specs: dict[str, ToolSpec] = {}
        self.max_chars = max_chars
        for func in funcs:
            self.register(func)

    def register(self, func: Callable[..., str], name: str | None = None) -> Callable[..., str]:
        """Add a tool (its schema is built now, so a bad signature fails at start-up, not mid-session)."""
        spec = spec_for(func, name)
        if spec.name in self._specs:
            raise ValueError(f"tool {spec.name!r} is registered twice")
        self._specs[spec.name] = spec
        return func

    def names(self) -> list[str]:
        """The tool names, in registration order."""
        return list(self._specs)

    def spec(self, name: str) -> ToolSpec:
        """The spec of one tool (KeyError when unknown)."""
        return self._specs[name]

    def schemas(self) -> list[dict[str, Any]]:
        """The tools in OpenAI function-calling format (`tools=[...]`)."""
        return [spec.schema() for spec in self._specs.values()]

    def call(self, name: str, arguments: str | dict[str, Any] | None, ctx: ToolContext) -> ToolResult:
        """Run one tool call from the model; bad calls and refusals come back as results, never raised."""
        spec = self._specs.get(name)
        if spec is None:
            return ToolResult(
                f"Error: unknown tool {name!r}. Available tools: {', '.join(self._specs)}", True
            )
        try:
            args = _parse_arguments(arguments)
            kwargs = check_arguments(spec, args)
        except ArgumentError as exc:
            return ToolResult(f"Error: {exc}", is_error=True)
        try:
            content = spec.func(ctx, **kwargs)
        except PermissionDenied as exc:
            return ToolResult(self._cap(f"Permission denied: {exc.reason}"), is_error=True, denied=True)
        except ToolError as exc:
            return ToolResult(self._cap(f"Error: {exc}"), is_error=True)
        except OSError as exc:
            # the environment's doing (permissions, disk full, a file vanishing), not a bug in the tool
            return ToolResult(self._cap(f"Error: {exc.strerror or exc} ({exc.filename or name})"), True)
        return ToolResult(self._cap(content))

    def _cap(self, text: str) -> str:
        return cap_middle(text, self.max_chars)


def _parse_arguments(arguments: str | dict[str, Any] | None) -> dict[str, Any]:
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return {}  # models send "" for a tool without parameters
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError as exc:
            raise ArgumentError(
                f"arguments are not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                'send a JSON object such as {"path": "README.md"}'
            ) from exc
        except RecursionError:  # the decoder gives up on deep nesting; no tool takes anything like it
            raise ArgumentError(
                'arguments are nested too deeply; send a flat JSON object such as {"path": "README.md"}'
            ) from None
    if not isinstance(arguments, dict):
        raise ArgumentError(f"arguments must be a JSON object, got {type(arguments).__name__}")
    _refuse_surrogates(arguments)
    return arguments


def _refuse_surrogates(arguments: dict[str, Any]) -> None:
    """A lone surrogate (JSON "\\ud800") is no character: it cannot name a file or be written to one."""
    stack: list[tuple[str, Any]] = [(key, key) for key in arguments] + list(arguments.items())
    while stack:  # a loop, not recursion: json.loads accepts nesting deeper than Python's stack allows here
        key, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((key, v) for v in [*value, *value.values()])
        elif isinstance(value, list):
            stack.extend((key, v) for v in value)
        elif isinstance(value, str) and replace_surrogates(value) != value:
            raise ArgumentError(
                f"argument {key!r} contains a lone surrogate (an unpaired \\ud800-\\udfff escape), which is "
                "not valid Unicode; send the text as real characters"
            )
