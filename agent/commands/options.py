"""Global options shared by the group and every subcommand, and the settings they feed.

The same options are accepted before and after the command name (``agent --model M run`` and
``agent run --model M``): each is added to every command, and all of them record into the root context.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from agent.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

_FLAGS_KEY = "kiri.flags"
_SETTINGS_KEY = "kiri.settings"


def _store_flag(field_name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """A callback recording an option given on the command line into the root context's flag dict.

    The group's options are parsed before the subcommand's, so a value after the command name overwrites one
    before it: the subcommand value wins, as users expect.
    """

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None or value is False:
            return
        flags = ctx.find_root().meta.setdefault(_FLAGS_KEY, {})
        flags[field_name] = value

    return callback


# (param decls, settings field, click keyword arguments). Values come from the command line only; the
# environment (KIRI_DB, ...) is read by agent.settings so that `agent config` can say where a value came from.
_GLOBAL_OPTIONS: list[tuple[tuple[str, ...], str, dict[str, Any]]] = [
    (
        ("--db",),
        "db_url",
        {"metavar": "URL", "help": "Database: SQLAlchemy URL or SQLite file path [env KIRI_DB]."},
    ),
    (("-C", "--cwd"), "cwd", {"metavar": "DIR", "help": "Work in DIR instead of the current directory."}),
    (("--model",), "model", {"metavar": "NAME", "help": "Model name [env KIRI_MODEL]."}),
    (
        ("--base-url",),
        "base_url",
        {"metavar": "URL", "help": "OpenAI-compatible API base URL [env KIRI_BASE_URL]."},
    ),
    (
        ("--backend",),
        "backend",
        {"type": click.Choice(["remote", "local"]), "help": "remote (OpenAI-compatible API) or local model."},
    ),
    (
        ("--approval",),
        "approval",
        {
            "type": click.Choice(["ask", "auto-edit", "full-auto"]),
            "help": "When to ask before edits and shell commands.",
        },
    ),
    (
        ("-y", "--yes"),
        "yes",
        {"is_flag": True, "help": "Do not ask: approve everything (full-auto), confirm rm."},
    ),
    (("--max-steps",), "max_steps", {"type": int, "metavar": "N", "help": "Stop after N model steps."}),
    (("--json",), "json_output", {"is_flag": True, "help": "Machine-readable JSON output."}),
]


def global_options(func: F) -> F:
    """Add the global options to a command; values go to the root context, not to the function."""
    for decls, field_name, kwargs in reversed(_GLOBAL_OPTIONS):
        option = click.option(
            *decls, field_name, expose_value=False, callback=_store_flag(field_name), **kwargs
        )
        func = option(func)
    return func


def flags(ctx: click.Context) -> dict[str, Any]:
    """The global flags given on the command line, by settings field name."""
    return ctx.find_root().meta.setdefault(_FLAGS_KEY, {})


def get_settings(ctx: click.Context) -> Settings:
    """The effective :class:`agent.settings.Settings`, merged once per invocation and cached."""
    meta = ctx.find_root().meta
    if _SETTINGS_KEY not in meta:
        from agent.settings import load_settings

        settings = load_settings(flags(ctx), Path.cwd())
        for warning in settings.warnings:  # once per invocation, before any command output
            click.echo(f"warning: {warning}", err=True)
        meta[_SETTINGS_KEY] = settings
    return meta[_SETTINGS_KEY]
