"""One-shot commands: ``run`` and ``fix``. The loop itself lives in agent.session / agent.fix."""

from __future__ import annotations

import click

from agent.commands.common import read_text_argument
from agent.commands.options import flags, get_settings, global_options
from agent.errors import UsageError


@click.command("run")
@click.argument("task", required=False)
@global_options
@click.pass_context
def run_cmd(ctx: click.Context, task: str | None) -> int:
    """Run one task to completion without the interactive prompt.

    TASK may be "-" (or left out with input piped) to read it from standard input:

    \b
        agent run --yes "make the failing test pass"
        cat task.md | agent run -
    """
    text = read_text_argument(task, "task")
    if text is None:
        raise UsageError('missing TASK: agent run "what to do" (or pipe it on standard input)')
    settings = get_settings(ctx)
    from agent.session import run_task  # the loop pulls in the backends (openai or torch)

    return run_task(settings, text)


@click.command("fix")
@click.argument("description", required=False)
@click.option("--test-cmd", metavar="CMD", help="Command whose success means fixed (default: detected).")
@click.option("--candidates", type=click.IntRange(min=1), metavar="N", help="Local model: drafts to try.")
@click.option(
    "--time-limit", type=click.FloatRange(min=0, min_open=True), metavar="S", help="Give up after S seconds."
)
@global_options
@click.pass_context
def fix_cmd(
    ctx: click.Context,
    description: str | None,
    test_cmd: str | None,
    candidates: int | None,
    time_limit: float | None,
) -> int:
    """Make failing tests pass: run them, fix the code, run them again.

    Exit 0 when the tests pass afterwards, 1 when they do not. DESCRIPTION (optional, "-" reads standard
    input) says what is wrong.
    """
    text = read_text_argument(description, "description", optional=True)
    given = flags(ctx)
    # Command options go through the same merge as global ones so `agent config` logic and sources hold.
    for name, value in (("test_cmd", test_cmd), ("candidates", candidates), ("time_limit", time_limit)):
        if value is not None:
            given[name] = value
    settings = get_settings(ctx)
    from agent.fix import run_fix

    return run_fix(settings, text)


COMMANDS = [run_cmd, fix_cmd]
