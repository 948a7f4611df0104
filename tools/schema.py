"""JSON schema for a tool, derived in one place from its signature and docstring, and argument checking.

A tool is `def name(ctx: ToolContext, a: str, b: int = 3) -> str` with a Google-style docstring: the text
before `Args:` describes the tool, and each `name: text` line under `Args:` describes a parameter.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

_SECTION = re.compile(r"^(Args|Arguments|Returns|Raises|Example|Examples):\s*$")
_ARG_LINE = re.compile(r"^(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


class ArgumentError(ValueError):
    """The model's arguments do not fit the tool's parameters."""


@dataclass(frozen=True)
class Param:
    """One parameter as the model sees it."""

    name: str
    schema: dict[str, Any]
    required: bool
    default: Any = None


@dataclass(frozen=True)
class ToolSpec:
    """A tool function with its schema."""

    name: str
    func: Callable[..., str]
    description: str
    params: tuple[Param, ...]

    def schema(self) -> dict[str, Any]:
        """The OpenAI function-calling entry for this tool."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": {
                    "type": "object",
                    "properties": {p.name: p.schema for p in self.params},
                    "required": [p.name for p in self.params if p.required],
                    "additionalProperties": False,
                },
            },
        }


def spec_for(func: Callable[..., str], name: str | None = None) -> ToolSpec:
    """Build the spec of a tool function; a parameter without a docstring entry is a programming error."""
    doc = inspect.getdoc(func) or ""
    description, arg_docs = _parse_docstring(doc)
    if not description:
        raise TypeError(f"tool {func.__name__} needs a docstring")
    hints = typing.get_type_hints(func)
    params: list[Param] = []
    for i, (pname, p) in enumerate(inspect.signature(func).parameters.items()):
        if i == 0:
            continue  # ctx: ToolContext, supplied by the registry
        if pname not in arg_docs:
            raise TypeError(f"tool {func.__name__}: parameter {pname!r} is not described under Args:")
        schema = _json_schema(hints[pname], f"{func.__name__}.{pname}")
        schema["description"] = arg_docs[pname]
        required = p.default is inspect.Parameter.empty
        if not required and p.default is not None:
            schema["default"] = p.default
        params.append(Param(pname, schema, required, None if required else p.default))
    return ToolSpec(name or func.__name__, func, description, tuple(params))


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    desc: list[str] = []
    args: dict[str, str] = {}
    section = None
    current = None
    for line in doc.splitlines():
        m = _SECTION.match(line.strip())
        if m and not line.startswith(" "):
            section = m.group(1)
            continue
        if section is None:
            desc.append(line)
        elif section in ("Args", "Arguments"):
            am = _ARG_LINE.match(line.strip())
            if am and line.startswith("    ") and not line.startswith("        "):
                current = am.group(1)
                args[current] = am.group(2).strip()
            elif current and line.strip():
                args[current] = f"{args[current]} {line.strip()}"
    return "\n".join(desc).strip(), args


def _json_schema(hint: Any, where: str) -> dict[str, Any]:
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in get_args(hint) if a is not type(None)]
        if len(members) != 1:
            raise TypeError(f"{where}: only `X | None` unions are supported")
        return _json_schema(members[0], where)
    if origin is Literal:
        values = list(get_args(hint))
        return {"type": _SIMPLE[type(values[0])], "enum": values}
    if origin is list:
        (item,) = get_args(hint)
        return {"type": "array", "items": _json_schema(item, where)}
    if hint in _SIMPLE:
        return {"type": _SIMPLE[hint]}
    raise TypeError(f"{where}: unsupported parameter type {hint!r}")


_SIMPLE: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def check_arguments(spec: ToolSpec, args: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for the call, defaults filled in; ArgumentError says what is wrong and what fits."""
    known = {p.name: p for p in spec.params}
    extra = sorted(set(args) - set(known))
    if extra:
        raise ArgumentError(
            f"unknown argument(s) {', '.join(extra)} for {spec.name}; it takes: {_signature(spec)}"
        )
    kwargs: dict[str, Any] = {}
    for p in spec.params:
        if p.name not in args or (args[p.name] is None and not p.required):
            if p.required:
                raise ArgumentError(
                    f"missing required argument {p.name!r} for {spec.name}({_signature(spec)})"
                )
            kwargs[p.name] = p.default
            continue
        kwargs[p.name] = _check_value(args[p.name], p.schema, f"{spec.name}: argument {p.name!r}")
    return kwargs


def _check_value(value: Any, schema: dict[str, Any], where: str) -> Any:
    kind = schema["type"]
    ok = {
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "array": isinstance(value, list),
    }[kind]
    if not ok and kind == "integer" and isinstance(value, float) and value.is_integer():
        value, ok = int(value), True  # some models send 5.0 for 5
    if not ok:
        raise ArgumentError(f"{where} must be {_a(kind)}, got {_a(_json_type_of(value))} ({value!r:.60})")
    if "enum" in schema and value not in schema["enum"]:
        raise ArgumentError(
            f"{where} must be one of {', '.join(map(repr, schema['enum']))}, got {value!r:.60}"
        )
    if kind == "array":
        return [_check_value(v, schema["items"], f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _json_type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _signature(spec: ToolSpec) -> str:
    return ", ".join(p.name if p.required else f"{p.name}?" for p in spec.params)
