"""``agent config``: the effective settings and where each value came from."""

from __future__ import annotations

import json

import click

from agent import render
from agent.commands.options import get_settings, global_options
from agent.settings import PROJECT_CONFIG, user_config_path


@click.command("config")
@click.option("--path", "show_path", is_flag=True, help="Print the configuration file locations and exit.")
@global_options
@click.pass_context
def config_cmd(ctx: click.Context, show_path: bool) -> int:
    """Show the effective configuration: each key, its value and its source (API key masked)."""
    settings = get_settings(ctx)
    files = {"user": str(user_config_path()), "project": str(settings.workspace_root / PROJECT_CONFIG)}
    if show_path:
        click.echo(f"user     {files['user']}\nproject  {files['project']}")
        return 0
    rows = settings.public_items()
    if settings.db_url is None:
        # Show where the data actually lives rather than "-": the store's default location.
        from memory.engine import default_url

        rows = [
            (k, default_url(), "default (KIRI_HOME or user data dir)") if k == "db_url" else (k, v, s)
            for k, v, s in rows
        ]
    if settings.json_output:
        click.echo(json.dumps({"settings": render.settings_json(rows), "files": files}, indent=2))
    else:
        click.echo(render.settings_table(rows, color=settings.color), color=settings.color)
    return 0


COMMANDS = [config_cmd]
