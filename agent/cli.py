"""The ``agent`` (alias ``kiri``) command line: the click group, global options and the one error edge.

Commands live in ``agent/commands/``; each one imports what it needs (the store, the loop, torch through the
local backend) inside its body, so ``agent --help`` and ``agent sessions`` stay fast and never load torch or
openai.
"""

from __future__ import annotations

import os
import sys

import click

from agent.commands.options import get_settings, global_options
from agent.errors import EXIT_INTERRUPTED, EXIT_USAGE, KiriError

EPILOG = """\b
Global options may also follow the command name: agent run --model M --yes "TASK".
\b
Exit codes:
  0    success
  1    task not done / fix not verified
  2    usage or configuration error (bad option, unknown session, database problem)
  3    backend error (API unreachable, model missing)
  130  interrupted (Ctrl-C)
  129  stopped by SIGHUP, 143 by SIGTERM (the turn is recorded first)
\b
Configuration: defaults < user config.toml < project .kiri/config.toml < environment (KIRI_*, OPENAI_*) <
flags. See the effective values with `agent config`.
"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kiri-agent")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


@click.group(
    invoke_without_command=True,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)
@click.version_option(
    None, "--version", package_name="kiri-agent", prog_name="kiri", message="%(prog)s %(version)s"
)
@global_options
@click.pass_context
def cli(ctx: click.Context) -> int | None:
    """kiri: a coding agent for your terminal.

    Run `agent` for an interactive session, or `agent run "TASK"` for a one-shot task. Sessions are stored
    (SQLite by default) and can be listed, shown, resumed, exported and undone.
    """
    if ctx.invoked_subcommand is not None:
        return None
    from agent.ui import start_repl

    return start_repl(get_settings(ctx), None)


def _register_commands() -> None:
    # The command modules only define click commands; their heavy imports happen inside the commands.
    from agent.commands import changes, config, run, sessions

    for module in (sessions, changes, run, config):
        for command in module.COMMANDS:
            cli.add_command(command)


_register_commands()


def _user_error_types() -> tuple[type[BaseException], ...]:
    """Exception types shown as one line. Evaluated when an exception reaches main(), so modules that were
    never imported (the store, tools) are not imported just to name their error classes."""
    types: list[type[BaseException]] = [KiriError]
    for module_name, attr in (("memory", "StoreError"), ("tools.errors", "UndoConflict")):
        module = sys.modules.get(module_name)
        error_type = getattr(module, attr, None)
        if isinstance(error_type, type) and issubclass(error_type, BaseException):
            types.append(error_type)
    return tuple(types)


def _fail(message: str, code: int) -> None:
    from memory.text import visible  # a message may quote what a user, a repository or a model wrote

    click.echo(f"error: {visible(message)}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console entry point and the single error edge: user errors become ``error: <message>`` and an exit code."""
    try:
        result = cli.main(args=argv, prog_name="agent", standalone_mode=False)
    except click.UsageError as exc:  # bad option or argument: one line, with where to look for help
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        _fail(f"{exc.format_message()}{hint}", EXIT_USAGE)
    except click.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code)
    except (KeyboardInterrupt, click.Abort):
        click.echo("", err=True)  # end the line the user interrupted, then leave quietly
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # `agent sessions | head`: the reader left. Point stdout at devnull so the interpreter's final flush
        # does not raise again, and exit like other Unix tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
    except _user_error_types() as exc:
        _fail(str(exc), exc.exit_code if isinstance(exc, KiriError) else EXIT_USAGE)
    sys.exit(result if isinstance(result, int) else 0)
