"""All terminal input and output: the one ``IO`` class, and the interactive REPL with its slash commands.

With a terminal on both ends, ``IO`` uses prompt-toolkit for input (history, completion, multi-line) and rich for
output (markdown answers, coloured diffs). Otherwise it reads and writes plain lines: no escape codes, so
output can be piped and scripted. ``NO_COLOR`` (through ``settings.color``) turns colour off in both.

Everything written passes through ``memory.text.visible``: control characters from the model, tools or files are
shown (``^[``), never sent to the terminal. rich is always given plain text (``markup=False``, ``Text``,
``Markdown``), so ``[bold red]`` in a model's answer is printed as written.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from memory.text import visible

MAX_MENTION_BYTES = 100_000  # an @file bigger than this is attached truncated, with a note
# A diff on screen is cut after this many lines or characters (the store keeps it whole): a 10 MB file would
# otherwise scroll by for minutes and be held line by line in memory.
DIFF_SHOWN_LINES = 400
DIFF_SHOWN_CHARS = 64_000
ANSWERS = {"y": "yes", "yes": "yes", "n": "no", "no": "no", "a": "always", "always": "always"}


class IO:
    """The terminal. ``pretty`` (prompt-toolkit + rich) when both stdin and stdout are terminals."""

    def __init__(
        self,
        *,
        pretty: bool | None = None,
        color: bool = True,
        out: TextIO | None = None,
        inp: TextIO | None = None,
        history_file: Path | None = None,
        workspace: Path | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.out = out or sys.stdout
        # Warnings and errors: stderr, so `agent run ... > answer.txt` keeps them apart; a caller that gives `out`
        # alone (a test's StringIO) gets everything there.
        self.err = err or (sys.stderr if out is None else self.out)
        self.inp = inp or sys.stdin
        if pretty is None:
            pretty = self.inp.isatty() and self.out.isatty()
        self.pretty = pretty
        self.color = color and pretty
        self.history_file = history_file
        self.workspace = workspace or Path.cwd()
        self._buffer = ""  # the answer being streamed
        self._live: Any = None
        self._session: Any = None  # prompt-toolkit PromptSession, created on first input
        self.console: Any = None
        self.err_console: Any = None
        if pretty:
            from rich.console import Console

            self.console = Console(file=self.out, no_color=not self.color, highlight=False, soft_wrap=False)
            self.err_console = (
                self.console
                if self.err is self.out
                else Console(file=self.err, no_color=not self.color, highlight=False, soft_wrap=False)
            )

    @classmethod
    def for_settings(cls, settings: Any, *, history: bool = False) -> IO:
        """The IO for a command: human output on stderr when ``--json`` owns stdout."""
        out = sys.stderr if settings.json_output else sys.stdout
        history_file = None
        if history:
            # Imported here: SQLAlchemy only for the commands that use the store.
            from memory.engine import data_dir

            history_file = data_dir() / "history"  # beside the default database
        return cls(
            color=settings.color,
            out=out,
            err=sys.stderr,
            history_file=history_file,
            workspace=settings.workspace,
        )

    # -- plain messages --------------------------------------------------------------------------------------

    def _line(self, text: str, style: str = "", *, to_err: bool = False) -> None:
        console, stream = (self.err_console, self.err) if to_err else (self.console, self.out)
        text = visible(text)
        if console is not None:
            console.print(text, style=style or None, markup=False, highlight=False)
        else:
            stream.write(text + "\n")
            stream.flush()

    def info(self, message: str) -> None:
        """A status line (dim in a terminal)."""
        self._line(message, "dim")

    def warn(self, message: str) -> None:
        """Something the user should notice."""
        self._line(f"warning: {message}", "yellow", to_err=True)

    def error(self, message: str) -> None:
        """One clear line; never a traceback."""
        self._line(f"error: {message}", "bold red", to_err=True)

    def show(self, text: str) -> None:
        """Output as is (command results)."""
        self._line(text)

    def markdown(self, text: str) -> None:
        """Render markdown in a terminal, print it plainly otherwise."""
        if self.console is not None:
            from rich.markdown import Markdown

            self.console.print(Markdown(visible(text)))
        else:
            self._line(text)

    # -- the streamed answer ---------------------------------------------------------------------------------

    def stream_start(self) -> None:
        """A new assistant message begins."""
        self._buffer = ""

    def stream_text(self, text: str) -> None:
        """More of the answer: re-rendered as markdown live in a terminal, written through otherwise."""
        text = visible(
            text
        )  # per piece: an escape split across two pieces is still shown, one character each
        self._buffer += text
        if self.console is None:
            self.out.write(text)
            self.out.flush()
            return
        from rich.markdown import Markdown

        if self._live is None:
            from rich.live import Live

            self._live = Live(console=self.console, refresh_per_second=8, vertical_overflow="visible")
            self._live.start()
        self._live.update(Markdown(self._buffer))

    def stream_end(self) -> None:
        """The message is complete (or was interrupted)."""
        if self._live is not None:
            self._live.stop()
            self._live = None
        elif self.console is None and self._buffer and not self._buffer.endswith("\n"):
            self.out.write("\n")
            self.out.flush()
        self._buffer = ""

    def progress(self, done: int, total: int) -> None:
        """Progress of a long generation (local model)."""
        if self.console is not None and self._live is None:
            self.out.write(f"\r{done}/{total}")
            self.out.flush()

    # -- tools, diffs, approvals ----------------------------------------------------------------------------

    def tool_call(self, name: str, arguments: str) -> None:
        """One compact line: the tool and its key argument."""
        self._line(f"> {name}({_key_argument(arguments)})", "bold cyan")

    def tool_result(self, name: str, content: str, is_error: bool) -> None:
        """The first line of the result, to show it happened without flooding the screen."""
        lines = content.strip().splitlines() or [""]
        more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
        first = lines[0] if len(lines[0]) <= 120 else lines[0][:117] + "..."
        self._line(f"  {first}{more}", "red" if is_error else "dim")

    def diff(self, text: str, *, pending: bool = False) -> None:
        """A unified diff, coloured per line in a terminal; cut after DIFF_SHOWN_LINES / _CHARS, with a note.

        ``pending``: the change awaits approval, so `agent diff` can show it only once it is made.
        """
        if not text:
            return
        shown, left = _head_of_diff(text)
        shown = visible(shown)
        where = "once applied, `agent diff` shows" if pending else "`agent diff` shows"
        note = f"[... {left:,} more lines of this diff not shown; {where} all of it]" if left else ""
        if self.console is None:
            self.out.write(shown if shown.endswith("\n") else shown + "\n")
            self.out.flush()
            if note:
                self._line(note)
            return
        from rich.text import Text

        for line in shown.rstrip("\n").split("\n"):
            style = ""
            if line.startswith(("+++", "---")):
                style = "bold"
            elif line.startswith("+"):
                style = "green"
            elif line.startswith("-"):
                style = "red"
            elif line.startswith("@@"):
                style = "cyan"
            self.console.print(Text(line, style=style), soft_wrap=True)
        if note:
            self._line(note, "dim")

    def approve(self, request: Any) -> str:
        """Ask about a write or a shell command: ``yes``, ``no`` or ``always`` (for this session)."""
        kind = "Run" if request.kind == "shell" else "Apply"
        if request.diff:
            self.diff(request.diff, pending=True)
        # On one line: a newline in a path or command must not print a question of its own.
        question = f"{kind} {visible(request.summary).replace(chr(10), '^J')}? [y]es / [n]o / [a]lways: "
        while True:
            answer = self.ask(question)
            if answer is None:
                return "no"  # end of input: nobody to say yes
            choice = ANSWERS.get(answer.strip().lower())
            if choice:
                return choice
            self._line("please answer y, n or a")

    def ask(self, question: str) -> str | None:
        """One line of input outside the REPL prompt; None at end of input."""
        from agent.interrupt import raising

        # During a turn a stop signal only sets a flag; a read of the user's answer must end on it all the same.
        with raising():
            if self.pretty:
                from prompt_toolkit import prompt

                try:
                    return prompt(question)
                except EOFError:
                    return None
            self.out.write(question)
            self.out.flush()
            line = self.inp.readline()
        return line.rstrip("\n") if line else None

    # -- the REPL prompt ---------------------------------------------------------------------------------------

    def read_input(self, commands: Iterable[str] = ()) -> str | None:
        """The user's next message (Esc-Enter for a new line); None at end of input (Ctrl-D).

        Raises KeyboardInterrupt on Ctrl-C, which the REPL counts.
        """
        if not self.pretty:
            self.out.write("> ")
            self.out.flush()
            line = self.inp.readline()
            return line.rstrip("\n") if line else None
        if self._session is None:
            self._session = self._prompt_session(list(commands))
        try:
            return self._session.prompt("> ")
        except EOFError:
            return None

    def _prompt_session(self, commands: list[str]) -> Any:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, InMemoryHistory
        from prompt_toolkit.key_binding import KeyBindings

        bindings = KeyBindings()

        @bindings.add("escape", "enter")
        def _newline(event: Any) -> None:  # Esc-Enter (or Alt-Enter) inserts a line break
            event.current_buffer.insert_text("\n")

        history: Any = InMemoryHistory()
        if self.history_file is not None:
            try:
                self.history_file.parent.mkdir(parents=True, exist_ok=True)
                history = FileHistory(str(self.history_file))
            except OSError as exc:  # an unwritable data dir costs the history, not the session
                self.warn(f"input history not saved: {exc.strerror}: {self.history_file.parent}")
        return PromptSession(
            history=history,
            completer=_completer(commands, self.workspace),
            key_bindings=bindings,
            complete_while_typing=False,
            prompt_continuation=lambda width, line, wrap: ". ".rjust(width),
        )

    def usage(self, turn: dict[str, int], total: dict[str, int]) -> None:
        """Tokens of this turn and of the session so far."""
        self.info(
            f"tokens: {turn['prompt_tokens']} in / {turn['completion_tokens']} out this turn; "
            f"session {total['prompt_tokens']} in / {total['completion_tokens']} out"
        )


def _head_of_diff(text: str) -> tuple[str, int]:
    """The part of a diff that fits DIFF_SHOWN_LINES and DIFF_SHOWN_CHARS, and how many lines are left out.

    Works on one slice of at most DIFF_SHOWN_CHARS, never on the whole diff split into lines.
    """
    if len(text) <= DIFF_SHOWN_CHARS and text.count("\n", 0, len(text) - 1) < DIFF_SHOWN_LINES:
        return text, 0
    head = text[:DIFF_SHOWN_CHARS]
    cut = 0
    for _ in range(DIFF_SHOWN_LINES):
        newline = head.find("\n", cut)
        if newline < 0:
            break
        cut = newline + 1
    if cut == 0:
        cut = len(head)  # one line longer than the whole budget: show its start
    left = text.count("\n", cut) + (0 if text.endswith("\n") else 1)
    return text[:cut], left


def _key_argument(arguments: str) -> str:
    """The argument that says what a call does (path, command, pattern), shortened for one line."""
    try:
        args = json.loads(arguments) if arguments else {}
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the decoder goes
        return arguments[:60]
    if not isinstance(args, dict):
        return str(args)[:60]
    for key in ("path", "command", "cmd", "pattern", "query", "url"):
        if key in args:
            value = str(args[key]).replace("\n", " ")
            return value if len(value) <= 80 else value[:77] + "..."
    text = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return text if len(text) <= 80 else text[:77] + "..."


def _completer(commands: list[str], workspace: Path) -> Any:
    from prompt_toolkit.completion import Completer, Completion

    class SlashAndMentions(Completer):
        """``/command`` at the start of the input, ``@path`` anywhere (relative to the workspace)."""

        def get_completions(self, document: Any, complete_event: Any) -> Any:
            text = document.text_before_cursor
            if text.startswith("/") and " " not in text:
                for name in commands:
                    if name.startswith(text):
                        yield Completion(name, start_position=-len(text))
                return
            word = text.split()[-1] if text.split() and not text.endswith(" ") else ""
            if word.startswith("@"):
                for path in _paths(workspace, word[1:]):
                    yield Completion("@" + path, start_position=-len(word))

    return SlashAndMentions()


def _paths(workspace: Path, partial: str, limit: int = 50) -> list[str]:
    """Workspace paths starting with ``partial`` (one directory level at a time, hidden files last)."""
    folder, _, stem = partial.rpartition("/")
    base = workspace / folder
    try:
        entries = sorted(base.iterdir(), key=lambda p: (p.name.startswith("."), p.name))
    except OSError:
        return []
    out = []
    for entry in entries:
        if entry.name.startswith(stem) and entry.name not in (".git", "__pycache__"):
            rel = f"{folder}/{entry.name}" if folder else entry.name
            out.append(rel + ("/" if entry.is_dir() else ""))
    return out[:limit]


def expand_mentions(text: str, workspace: Path) -> str:
    """Attach the content of each ``@path`` that names a file inside the workspace."""
    from tools.limits import read_regular_prefix  # here: the terminal UI does not need the tools otherwise

    attached = []
    root = workspace.resolve()
    for word in text.split():
        if not word.startswith("@") or len(word) < 2:
            continue
        rel = word[1:].rstrip(",.;:!?)")
        path = (root / rel).resolve()
        if not path.is_relative_to(root) or not path.is_file() or rel in attached:
            continue
        try:
            data = read_regular_prefix(path, MAX_MENTION_BYTES + 1) or b""  # is_file() above: regular
        except OSError as exc:  # unreadable: say so to the model rather than crash the prompt
            attached.append(rel)
            text += f'\n\n<file path="{rel}">[cannot read: {exc.strerror}]</file>'
            continue
        note = ""
        if len(data) > MAX_MENTION_BYTES:
            data, note = data[:MAX_MENTION_BYTES], f"\n[... truncated at {MAX_MENTION_BYTES} bytes ...]"
        attached.append(rel)
        text += f'\n\n<file path="{rel}">\n{data.decode("utf-8", errors="replace")}{note}\n</file>'
    return text


HELP = """\
Type a message and press Enter; Esc-Enter inserts a new line. @path attaches a file's content.
Ctrl-C stops the current step; Ctrl-C twice (or Ctrl-D, /exit) leaves.
  /help             this help
  /sessions         recent sessions of this project
  /resume ID        continue another session (a unique id prefix is enough)
  /new              start a new session
  /diff             what this session changed so far
  /undo             revert the last change of this session
  /model NAME       switch the model for the next turns
  /approval MODE    ask | auto-edit | full-auto
  /compact          summarise older turns now to free context
  /tokens           token usage and context size
  /clear            clear the screen
  /exit             leave"""

COMMANDS = ["/help", "/sessions", "/resume", "/new", "/diff", "/undo", "/model", "/approval", "/compact",
            "/tokens", "/clear", "/exit"]  # fmt: skip
DOUBLE_CTRL_C_S = 2.0  # a second Ctrl-C within this many seconds leaves the REPL


class Repl:
    """The interactive loop: read a line, run a slash command or a turn of the agent, repeat."""

    def __init__(self, settings: Any, session_id: str | None) -> None:
        from agent.commands.common import open_store
        from agent.session import open_session

        self.settings = settings
        self.io = IO.for_settings(settings, history=True)
        self.store = open_store(settings)
        self.session = open_session(settings, self.io, session_id, store=self.store)
        self._last_interrupt = 0.0

    def loop(self) -> int:
        """Run until /exit, end of input, a double Ctrl-C or SIGTERM/SIGHUP in a turn; return the exit code.

        The session is released on the way out, however the loop ends, so it is not left ``active``.
        """
        try:
            return self._loop()
        finally:
            self.session.release()

    def _loop(self) -> int:
        import signal

        from agent.errors import EXIT_INTERRUPTED, BackendError
        from agent.session import STATUS, signal_exit_code

        self._banner()
        while True:
            try:
                line = self.io.read_input(COMMANDS)
            except KeyboardInterrupt:
                if self._interrupted_twice():
                    return EXIT_INTERRUPTED
                self.io.info("(Ctrl-C again to exit)")
                continue
            if line is None:
                return 0
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                if self.command(line) == "exit":
                    return 0
                continue
            try:
                result = self.session.agent.run(expand_mentions(line, self.settings.workspace))
            except BackendError as exc:  # the REPL survives an unreachable model; the user may retry
                self.io.error(str(exc))
                continue
            self.session.outcome = STATUS[result.status]
            if result.status == "interrupted" and result.signum not in (None, signal.SIGINT):
                return signal_exit_code(result.signum)  # SIGTERM, SIGHUP: asked to leave, not to stop a step
            if result.status == "interrupted" and self._interrupted_twice():
                return EXIT_INTERRUPTED
            if result.status == "max_steps":
                self.io.warn(f"stopped after {result.steps} steps; say 'continue' to go on")
            self.io.usage(result.usage, self.session.agent.usage)

    def _interrupted_twice(self) -> bool:
        now = time.monotonic()
        twice = now - self._last_interrupt < DOUBLE_CTRL_C_S
        self._last_interrupt = now
        return twice

    def _banner(self) -> None:
        s = self.session
        state = f"resumed ({len(s.agent.messages)} messages)" if s.resumed else "new"
        self.io.info(f"kiri · session {s.id[:8]} {state} · {s.settings.backend} {s.settings.model} · "
                     f"approval {s.gate.mode} · /help for commands")  # fmt: skip

    def command(self, line: str) -> str | None:
        """Run one slash command; returns "exit" for /exit. User errors are shown, never raised."""
        from agent.errors import KiriError
        from memory import StoreError
        from tools.errors import ToolError

        name, _, arg = line.partition(" ")
        arg = arg.strip()
        handler = getattr(self, "_cmd_" + name[1:], None) if name in COMMANDS else None
        if handler is None:
            self.io.error(f"unknown command {name} (try /help)")
            return None
        try:
            return handler(arg)
        except (KiriError, StoreError, ToolError) as exc:
            self.io.error(str(exc))
            return None

    def _cmd_help(self, arg: str) -> None:
        self.io.show(HELP)

    def _cmd_exit(self, arg: str) -> str:
        return "exit"

    def _cmd_sessions(self, arg: str) -> None:
        rows = self.store.list_sessions(project_dir=str(self.settings.workspace_root), limit=20)
        for row in rows:
            mark = "*" if row.id == self.session.id else " "
            title = (row.title or "").replace("\n", " ")[:60]
            self.io.show(f"{mark} {row.id[:8]}  {row.updated_at:%Y-%m-%d %H:%M}  {row.model:<16} {title}")
        if not rows:
            self.io.show("no sessions yet")

    def _cmd_resume(self, arg: str) -> None:
        from agent.errors import UsageError
        from agent.session import open_session

        if not arg:
            raise UsageError("usage: /resume ID")
        self._switch(open_session(self.session.settings, self.io, arg, store=self.store))

    def _cmd_new(self, arg: str) -> None:
        from agent.session import open_session

        self._switch(open_session(self.session.settings, self.io, store=self.store))

    def _switch(self, session: Any) -> None:
        """Continue in ``session``; the one left is released (opened first, so a refusal leaves it held)."""
        if session.id != self.session.id:
            self.session.release()
        self.session = session
        self._banner()

    def _cmd_diff(self, arg: str) -> None:
        from tools.changes import net_diff

        # From the exact snapshots kept for undo: redacted here, like every diff kiri shows.
        diff = self.session.agent.secrets.redact(net_diff(self.store, self.session.id))
        if diff:
            self.io.diff(diff)
        else:
            self.io.show("no changes in this session")

    def _cmd_undo(self, arg: str) -> None:
        from tools.changes import undo

        paths = undo(self.store, self.session.id, workspace=self.settings.workspace)
        self.io.show("restored " + ", ".join(paths))

    def _cmd_model(self, arg: str) -> None:
        if arg:
            self.session.set_model(arg)
        self.io.show(f"model: {self.session.settings.model}")

    def _cmd_approval(self, arg: str) -> None:
        if arg:
            self.session.set_approval(arg)
        self.io.show(f"approval: {self.session.gate.mode}")

    def _cmd_compact(self, arg: str) -> None:
        self.session.agent.compact()
        self._cmd_tokens("")

    def _cmd_tokens(self, arg: str) -> None:
        agent = self.session.agent
        used = agent.window.estimate(agent.messages) if agent.window else 0
        limit = agent.window.limit if agent.window else 0
        self.io.show(
            f"context: ~{used} of {limit} tokens ({len(agent.messages)} messages); session: "
            f"{agent.usage['prompt_tokens']} in / {agent.usage['completion_tokens']} out"
        )

    def _cmd_clear(self, arg: str) -> None:
        if self.io.pretty:
            self.io.out.write("\x1b[2J\x1b[H")
            self.io.out.flush()


def start_repl(settings: Any, session_id: str | None) -> int:
    """``agent`` / ``agent resume ID``: the interactive session. Returns the exit code."""
    return Repl(settings, session_id).loop()
