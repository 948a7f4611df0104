"""Session commands: ``sessions``, ``show``, ``resume``, ``rm``, ``export``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from agent import render
from agent.commands.common import confirm, latest_session_id, open_store, write_atomically
from agent.commands.options import flags, get_settings, global_options
from agent.errors import UsageError


@click.command("sessions")
@click.option("-a", "--all", "all_projects", is_flag=True, help="Every project, not only this one.")
@click.option(
    "-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most N sessions."
)
@global_options
@click.pass_context
def sessions_cmd(ctx: click.Context, all_projects: bool, limit: int) -> int:
    """List sessions of this project, newest first (all projects with --all).

    IDs are shown as 8 characters; any unique prefix works wherever an ID is asked for.
    """
    settings = get_settings(ctx)
    store = open_store(settings)
    project = None if all_projects else str(settings.workspace_root)
    found = store.list_sessions(project_dir=project, limit=limit)
    if settings.json_output:
        # ASCII: titles and paths may hold C1 controls, which json writes raw otherwise.
        click.echo(json.dumps([render.session_dict(s) for s in found], indent=2))
    elif not found:
        where = "" if all_projects else f" for {render.home_abbrev(project or '')} (try --all)"
        click.echo(f"No sessions{where}.", err=True)
    else:
        click.echo(render.sessions_table(found, color=settings.color), color=settings.color)
    return 0


@click.command("show")
@click.argument("session_id", metavar="ID")
@click.option("--full", is_flag=True, help="Do not cut long tool results; show the system prompt.")
@global_options
@click.pass_context
def show_cmd(ctx: click.Context, session_id: str, full: bool) -> int:
    """Show a session's transcript: messages, tool calls, results and diffs."""
    settings = get_settings(ctx)
    store = open_store(settings)
    resolved = store.resolve_id(session_id)
    if settings.json_output:
        click.echo(store.export(resolved, fmt="json"))
        return 0
    data = store.load(resolved)
    click.echo(render.transcript(data, color=settings.color, full=full), color=settings.color)
    return 0


@click.command("resume")
@click.argument("session_id", metavar="[ID]", required=False)
@click.option("--last", is_flag=True, help="Resume this project's latest session.")
@global_options
@click.pass_context
def resume_cmd(ctx: click.Context, session_id: str | None, last: bool) -> int:
    """Reopen a session with its history and continue it interactively."""
    if (session_id is None) == (not last):
        raise UsageError("give either a session ID or --last")
    settings = get_settings(ctx)
    store = open_store(settings)
    resolved = latest_session_id(store, settings) if last else store.resolve_id(session_id or "")
    from agent.ui import start_repl  # the REPL pulls in prompt-toolkit and the backends

    return start_repl(settings, resolved)


@click.command("rm")
@click.argument("session_ids", metavar="ID...", nargs=-1, required=True)
@global_options
@click.pass_context
def rm_cmd(ctx: click.Context, session_ids: tuple[str, ...]) -> int:
    """Delete sessions with their messages, tool runs and file history (asks first unless --yes)."""
    settings = get_settings(ctx)
    store = open_store(settings)
    # Resolve every ID before deleting any, so a typo in the third ID deletes nothing.
    resolved = list(dict.fromkeys(store.resolve_id(prefix) for prefix in session_ids))
    summary = ", ".join(render.short_id(s) for s in resolved)
    confirm(f"Delete {len(resolved)} session(s) {summary}?", assume_yes=bool(flags(ctx).get("yes")))
    for sid in resolved:
        store.delete(sid)
    click.echo(f"deleted {summary}", err=True)
    return 0


@click.command("export")
@click.argument("session_id", metavar="ID")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["md", "json"]),
    default="md",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE (atomically)."
)
@global_options
@click.pass_context
def export_cmd(ctx: click.Context, session_id: str, fmt: str, output: Path | None) -> int:
    """Export a session as Markdown or JSON, to stdout or a file."""
    settings = get_settings(ctx)
    store = open_store(settings)
    if settings.json_output:
        fmt = "json"
    text = store.export(store.resolve_id(session_id), fmt=fmt)
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        write_atomically(output, text if text.endswith("\n") else text + "\n")
        click.echo(f"wrote {output}", err=True)
    return 0


COMMANDS = [sessions_cmd, show_cmd, resume_cmd, rm_cmd, export_cmd]
