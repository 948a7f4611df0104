"""File-change commands: ``undo`` and ``diff`` (over what a session wrote, recorded in the store)."""

from __future__ import annotations

import json

import click

from agent import render
from agent.commands.common import open_store, session_id_or_latest
from agent.commands.options import get_settings, global_options
from agent.errors import UsageError


@click.command("undo")
@click.argument("session_id", metavar="[ID]", required=False)
@click.option(
    "-n",
    "--steps",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Undo the last N steps (a step is one tool call's changes).",
)
@click.option("--force", is_flag=True, help="Overwrite files that changed since the agent wrote them.")
@global_options
@click.pass_context
def undo_cmd(ctx: click.Context, session_id: str | None, steps: int, force: bool) -> int:
    """Revert the last file changes a session made (default: this project's latest session)."""
    from tools.changes import undo
    from tools.errors import ToolError

    settings = get_settings(ctx)
    store = open_store(settings)
    resolved = session_id_or_latest(store, settings, session_id)
    try:
        # No workspace: undo uses the directory the session recorded, wherever `agent undo` runs from.
        restored = undo(store, resolved, steps=steps, force=force)
    except ToolError as exc:  # a conflict (names the files, hints --force) or nothing left to undo
        raise UsageError(str(exc)) from None
    if settings.json_output:
        click.echo(json.dumps({"session_id": resolved, "restored": restored}))
    elif not restored:
        click.echo(f"nothing to undo in session {render.short_id(resolved)}", err=True)
    else:
        from memory.text import quote_name

        for path in restored:
            click.echo(f"restored {quote_name(path)}")  # a stored name may hold a newline or an escape
    return 0


@click.command("diff")
@click.argument("session_id", metavar="[ID]", required=False)
@global_options
@click.pass_context
def diff_cmd(ctx: click.Context, session_id: str | None) -> int:
    """Show the net diff of a session's file changes (default: this project's latest session)."""
    from tools.changes import net_diff

    settings = get_settings(ctx)
    store = open_store(settings)
    resolved = session_id_or_latest(store, settings, session_id)
    # Recomputed from the exact snapshots kept for undo: a key in a changed file is redacted here, as in the record.
    diff = settings.secrets().redact(net_diff(store, resolved))
    if settings.json_output:
        click.echo(json.dumps({"session_id": resolved, "diff": diff}))
    elif diff:
        click.echo(
            render.color_diff(diff, color=settings.color), nl=not diff.endswith("\n"), color=settings.color
        )
    else:
        click.echo(f"no changes in session {render.short_id(resolved)}", err=True)
    return 0


COMMANDS = [undo_cmd, diff_cmd]
