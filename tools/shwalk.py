"""What a command line will run: every simple command it reaches, unwrapped and with what can be known of its words.

`analyse` walks the parsed command (`tools.shsyntax`) the way the shell would run it: through lists, pipelines,
groups, function bodies, `$(...)`, `bash -c` / `eval` / here-document bodies, and wrappers such as `sudo`, `env`,
`xargs` or `find -exec`. It follows `cd` and simple assignments, so relative paths resolve against the directory
the command will really be in. What it cannot know (a `$VAR` it has no value for, code piped into a shell) is kept
as unknown for the deny rules to weigh: this module decides nothing.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from tools.shsyntax import (
    Command,
    FuncDef,
    Group,
    Pipeline,
    Redirect,
    Script,
    ShellSyntaxError,
    Simple,
    Word,
    parse,
    words,
)
from tools.shwrappers import (
    GIT_VALUED,
    GUESSED,
    NEVER_RUN,
    SETS_VARIABLES,
    WRAPPERS,
    XARGS_LONG_VALUED,
    XARGS_VALUED,
)

SHELLS = frozenset(
    {"sh", "bash", "zsh", "dash", "ksh", "fish", "ash", "mksh", "yash", "rbash", "tcsh", "csh"}
)
_OUTPUT_REDIRS = frozenset({">", ">>", ">|", "<>", "&>", "&>>", ">&"})
_ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?\+?=(.*)", re.S)
_MAX_DEPTH = 16  # nested bodies; deeper than any real command, and a bound on hostile nesting


@dataclass(frozen=True)
class Arg:
    """One argument: its value when it can be known before the command runs, else None."""

    value: str | None
    raw: str
    glob: bool = False  # holds an unquoted * ? or [, so the shell expands it to file names
    procsub: bool = False  # a `<(...)` / `>(...)` file

    @property
    def text(self) -> str:
        return self.value if self.value is not None else self.raw


@dataclass(frozen=True)
class Invocation:
    """A command that runs: argv[0] is its name reduced to the basename; `cwd` None when not known."""

    argv: tuple[Arg, ...]
    cwd: str | None
    depth: int  # 0 as written, more for the command a wrapper (`sudo`, `xargs`, ...) runs
    links: dict[str, str] = field(default_factory=dict, compare=False)  # symlinks this command makes
    guessed: bool = False  # found among an unknown wrapper's words: a rule may say YES, never MAYBE

    @property
    def name(self) -> str:
        return self.argv[0].value or ""

    @property
    def args(self) -> tuple[Arg, ...]:
        return self.argv[1:]


@dataclass
class Analysis:
    invocations: list[Invocation] = field(default_factory=list)
    pipelines: list[list[list[Invocation]]] = field(default_factory=list)  # per pipeline, per stage
    writes: list[tuple[str | None, str]] = field(
        default_factory=list
    )  # redirection targets (path, as written)
    unknown: list[str] = field(default_factory=list)  # code kiri cannot see, and why
    unparsed: list[str] = field(default_factory=list)  # texts that are not shell kiri can read
    recursive_functions: list[str] = field(default_factory=list)


@dataclass
class _State:
    cwd: str | None
    env: dict[str, str | None]
    written: set[str] = field(default_factory=set)
    links: dict[str, str] = field(default_factory=dict)

    def copy(self) -> _State:
        return _State(self.cwd, dict(self.env), self.written, self.links)

    def taint(self, other: _State) -> None:
        """Forget what `other` (a function body, a last pipeline stage) may have changed when it ran here."""
        if other.cwd != self.cwd:
            self.cwd = None
        for name in other.env.keys() | self.env.keys():
            if other.env.get(name) != self.env.get(name):
                self.env[name] = None


@dataclass(frozen=True)
class _Feed:
    """What a command reads on standard input: nothing known, literal text, a file, or unknowable."""

    kind: str  # "none" | "text" | "file" | "unknown"
    text: str | None = None


_NO_FEED = _Feed("none")


def resolve(value: str | None, cwd: str | None) -> str | None:
    """`value` as an absolute path with `.`, `..`, `//` and trailing slashes folded; None when unknowable."""
    if value is None or value == "":
        return None
    if not value.startswith("/"):
        if cwd is None:
            return None
        value = f"{cwd}/{value}"
    path = posixpath.normpath(value)
    return "/" + path.lstrip("/")  # normpath keeps a leading '//'; the kernel does not care


def analyse(command: str, workspace: str, home: str | None, cdpath: str | None = None) -> Analysis:
    """Everything `command` (run with `bash -c` in `workspace`) will run, as far as it can be known.

    `home` and `cdpath` are HOME and CDPATH in the environment the shell will get.
    """
    walker = _Walker()
    env = {"HOME": home, "PWD": workspace, **({"CDPATH": cdpath} if cdpath else {})}
    walker.code(command, _State(workspace, env), 0)
    return walker.out


class _Walker:
    def __init__(self) -> None:
        self.out = Analysis()
        self.guessing = 0  # inside a `_guess`: what is found there counts only when it surely matches

    def code(self, text: str, state: _State, depth: int) -> None:
        if depth > _MAX_DEPTH:
            self.out.unknown.append("it nests commands too deeply to follow")
            return
        try:
            script = parse(text)
        except ShellSyntaxError:
            self.out.unparsed.append(text)
            return
        self.script(script, state, depth)

    def script(self, script: Script, state: _State, depth: int) -> None:
        for pipeline in script.items:
            self.pipeline(pipeline, state, depth)

    def pipeline(self, pipeline: Pipeline, state: _State, depth: int) -> None:
        stages: list[list[Invocation]] = []
        feed = _NO_FEED
        for command in pipeline.stages:
            # each stage of a real pipeline runs in a subshell: its `cd` does not outlive it
            own = state if len(pipeline.stages) == 1 else state.copy()
            before = len(self.out.invocations)
            self.command(command, own, feed, depth)
            if own is not state and command is pipeline.stages[-1]:
                state.taint(own)  # with `shopt -s lastpipe` the last stage runs in this shell
            stages.append(self.out.invocations[before:])
            feed = self._output_of(command, own)
        self.out.pipelines.append(stages)

    def _output_of(self, command: Command, state: _State) -> _Feed:
        # `echo 'rm -rf /' | sh` is literal code; anything else piped into a shell is not known
        if isinstance(command, Simple) and command.words:
            argv = [self.arg(w, state) for w in command.words]
            literal = all(a.value is not None and "\\" not in a.value for a in argv)  # `echo -e 'r\x6d'`
            if literal and (
                argv[0].value == "echo"
                or (argv[0].value == "printf" and not any("%" in a.text for a in argv[1:]))
            ):
                return _Feed("text", " ".join(a.text for a in argv[1:] if a.value not in ("-n", "-e")) + "\n")
        return _Feed("unknown")

    def command(self, command: Command, state: _State, feed: _Feed, depth: int) -> None:
        if isinstance(command, Simple):
            self.simple(command, state, feed, depth)
        elif isinstance(command, Group):
            self.redirects(command.redirects, state)
            self.script(command.body, state.copy() if command.subshell else state, depth)
        elif isinstance(command, FuncDef):
            # the body is checked as if it ran here; whatever it changes is unknown after a call
            before, pipelines = len(self.out.invocations), len(self.out.pipelines)
            body = state.copy()
            self.command(command.body, body, _NO_FEED, depth)
            state.taint(body)
            calls = [inv for inv in self.out.invocations[before:] if inv.name == command.name]
            piped = any(
                len(p) > 1 and any(inv.name == command.name for stage in p for inv in stage)
                for p in self.out.pipelines[pipelines:]
            )
            if len(calls) > 1 or piped:  # calls itself more than once: the count of processes doubles
                self.out.recursive_functions.append(command.name)

    def arg(self, word: Word, state: _State) -> Arg:
        pieces: list[str] = []
        known = True
        for part in word.parts:
            if part.kind in ("lit", "quoted", "glob"):
                pieces.append(part.text)
                continue
            value = None
            if part.kind == "tilde" and part.text == "":
                value = state.env.get("HOME")
            elif part.kind == "sub" and part.text.strip() == "pwd":
                value = state.cwd  # `"$(pwd)/build"` is as literal as `"$PWD/build"`
            elif part.kind == "var" and "IFS" not in state.env:  # a changed IFS splits values anywhere
                value = state.env.get(part.text)
                if value is not None and re.search(r"[\s*?\[]", value):
                    value = None  # split into several words, or globbed, when it expands
            if value is None:
                known = False
            else:
                pieces.append(value)
        procsub = any(p.kind == "procsub" for p in word.parts)
        return Arg("".join(pieces) if known else None, word.raw, word.glob, procsub)

    def redirects(self, redirects: list[Redirect], state: _State) -> _Feed:
        feed = _NO_FEED
        for r in redirects:
            for body in r.target.bodies:
                self.code(body, state.copy(), 1)
            target = self.arg(r.target, state)
            if r.op in ("<&", ">&") and target.value is not None and re.fullmatch(r"\d*-?", target.value):
                continue  # duplicates a file descriptor
            if r.op in _OUTPUT_REDIRS:
                path = resolve(target.value, state.cwd)
                self.out.writes.append((path, target.raw))
                if path is not None:
                    state.written.add(path)
            elif r.op == "<":
                feed = _Feed("file", resolve(target.value, state.cwd))
            elif r.op == "<<<":
                feed = _Feed("unknown") if target.value is None else _Feed("text", target.value + "\n")
            elif r.heredoc is not None:
                literal = r.heredoc_literal or not re.search(r"[$`]", r.heredoc)
                if not literal and re.search(r"\$\(|`", r.heredoc):
                    self.code(
                        r.heredoc, state.copy(), 1
                    )  # its $(...) run; reading all of it as code errs safe
                feed = _Feed("text", r.heredoc) if literal else _Feed("unknown")
        return feed

    def simple(self, cmd: Simple, state: _State, feed: _Feed, depth: int) -> None:
        for word in [*cmd.assigns, *cmd.words]:
            for body in word.bodies:
                self.code(body, state.copy(), depth + 1)
        own_feed = self.redirects(cmd.redirects, state)
        if own_feed.kind != "none":
            feed = own_feed
        assigned = [
            (m.group(1), self._assigned_value(w, state)) for w in cmd.assigns if (m := _ASSIGN.match(w.raw))
        ]
        if not cmd.words:
            state.env.update(assigned)
            return
        inner = state.copy() if assigned else state
        inner.env.update(assigned)
        # the words are expanded before the prefix assignments apply, so they see the outer variables
        argv = [self.arg(w, state) for w in cmd.words]
        self.invoke(argv, inner, feed, depth)

    def _assigned_value(self, word: Word, state: _State) -> str | None:
        value = self.arg(word, state).value
        return None if value is None else value.split("=", 1)[1]

    def invoke(self, argv: list[Arg], state: _State, feed: _Feed, depth: int) -> None:
        if not argv:
            return
        head = argv[0]
        if head.value is None or head.glob or not head.value:
            if not self.guessing:
                self.out.unknown.append(f"the command name {head.raw} is only known when it runs")
            return
        name = head.value.rstrip("/").rsplit("/", 1)[-1] or head.value
        argv = [Arg(name, head.raw), *argv[1:]]
        if name == "git":
            argv = self._git(argv, state, depth)
        self.out.invocations.append(Invocation(tuple(argv), state.cwd, depth, state.links, self.guessing > 0))
        args = argv[1:]
        if name in SHELLS:
            self._shell(args, state, feed, depth)
        elif name == "eval":
            self._code_of(args, state, depth, "eval", shared=True)
        elif name in ("source", "."):
            if args:
                # what the file itself runs is out of reach, as for any script; only its origin is checked
                self._script_file(args[0], state, "source")
        elif name == "ln":
            self._ln(args, state)
        elif name in SETS_VARIABLES:
            self._variables(name, args, state)
        elif name in ("cd", "pushd", "popd"):
            self._cd(name, args, state)
        elif name == "xargs":
            self._xargs(args, state, depth)
        elif name == "find":
            self._find(args, state, depth)
        elif name == "busybox":
            self.invoke(args, state, feed, depth + 1)
        elif name == "alias":
            for a in args:
                if a.value is not None and "=" in a.value:
                    self.code(a.value.split("=", 1)[1], state.copy(), depth + 1)
        elif name == "trap" and args and args[0].value != "-" and not (args[0].value or "").startswith("-"):
            self._code_of(args[:1], state, depth, "trap")
        elif name == "watch":  # joins its words and runs them with `sh -c`
            rest = self._skip_options(args, "n", frozenset({"--interval"}))
            if rest is None:
                self._unknown_wrapper(name)
            else:
                self._code_of(rest, state, depth, "watch")
        elif name == "parallel":  # like xargs: its inputs become arguments
            rest = self._skip_options(args, "jaS", frozenset())
            if rest is None:
                self._unknown_wrapper(name)
            else:
                rest = rest[: next((i for i, a in enumerate(rest) if a.value in (":::", "::::")), len(rest))]
                self.invoke([*rest, Arg(None, "<what parallel reads>")], state, _NO_FEED, depth + 1)
        elif name in ("su", "runuser", "script"):
            for i, a in enumerate(args):
                if re.fullmatch(r"-[A-Za-z]*c|--command", a.value or "") and i + 1 < len(args):
                    self._code_of(args[i + 1 : i + 2], state, depth, name)
                elif a.value is not None and a.value.startswith("--command="):
                    self.code(a.value.split("=", 1)[1], state.copy(), depth + 1)
        elif name in WRAPPERS:
            self._unwrap(name, argv, state, feed, depth)
        elif name not in NEVER_RUN and not self.guessing:
            self._guess(args, state, depth)

    def _guess(self, args: list[Arg], state: _State, depth: int) -> None:
        # A wrapper kiri does not know (`strace -f rm -rf /`): a rule's command among its words is checked as if
        # it ran from there. Only sure matches count, so an odd argument list cannot make a command refused.
        start = next(
            (i for i, a in enumerate(args) if a.value in GUESSED or (a.value or "").startswith("mkfs.")), None
        )
        if start is not None:
            self.guessing += 1
            try:
                self.invoke(args[start:], state.copy(), _NO_FEED, depth + 1)
            finally:
                self.guessing -= 1

    def _unknown_wrapper(self, name: str) -> None:
        if not self.guessing:
            self.out.unknown.append(f"the command {name} runs is only known when it runs")

    def _code_of(self, args: list[Arg], state: _State, depth: int, what: str, shared: bool = False) -> None:
        # `eval` runs in this shell (its `cd` stays); `sh -c` and the like run in a child
        if any(a.value is None for a in args):
            self.out.unknown.append(f"the code given to {what} is only known when it runs")
        else:
            self.code(" ".join(a.text for a in args), state if shared else state.copy(), depth + 1)

    def _variables(self, name: str, args: list[Arg], state: _State) -> None:
        # `export X=v` sets X; `read X`, `for X in ...`, `unset X` leave it unknown
        for a in args:
            if a.value is None:
                continue
            m = _ASSIGN.match(a.value)
            if m and name in ("export", "declare", "typeset", "local", "readonly"):
                state.env[m.group(1)] = m.group(3)
            elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", a.value):
                state.env[a.value] = None
            if name in ("for", "select"):
                break

    def _script_file(self, script: Arg, state: _State, what: str) -> None:
        path = resolve(script.value, state.cwd)
        if script.procsub or path is None:
            self.out.unknown.append(f"{what} runs code that is only known when it runs")
        elif path in state.written or path.startswith(("/dev/stdin", "/dev/fd/", "/proc/self/fd/")):
            self.out.unknown.append(f"{what} runs a file this same command writes or pipes in")

    def _shell(self, args: list[Arg], state: _State, feed: _Feed, depth: int) -> None:
        i, body = 0, False
        while i < len(args):
            v = args[i].value
            if v is None and (body or args[i].procsub):
                break  # the code after -c, or a `<(...)` script
            if v is None:
                self.out.unknown.append("the shell's options are only known when it runs")
                return
            if v in ("-", "--"):
                i += 1
                break
            if v.startswith("--"):
                i += 2 if v in ("--rcfile", "--init-file") else 1
            elif len(v) > 1 and v[0] in "-+":
                body = body or (v[0] == "-" and "c" in v)
                i += 2 if ("o" in v or "O" in v) else 1
            else:
                break
        rest = args[i:]
        if body:
            self._code_of(rest[:1], state, depth, "the shell")
        elif rest:
            self._script_file(rest[0], state, "the shell")
        elif feed.kind == "text" and feed.text is not None:
            self.code(feed.text, state.copy(), depth + 1)
        elif feed.kind == "unknown":
            self.out.unknown.append("code is piped or fed into a shell")
        elif feed.kind == "file":
            self._script_file(Arg(feed.text, feed.text or "<input>"), state, "the shell")

    def _cd(self, name: str, args: list[Arg], state: _State) -> None:
        targets = [a for a in args if not (a.value or "x").startswith("-") or a.value == "-"]
        if name == "popd" or (targets and targets[0].value == "-"):
            state.cwd = None
        elif not targets:
            state.cwd = state.env.get("HOME")
        elif "CDPATH" in state.env and not re.match(r"\.{0,2}(/|$)", targets[0].value or ""):
            state.cwd = None  # `cd usr` may be /usr when CDPATH lists /
        else:
            state.cwd = resolve(targets[0].value, state.cwd)
        state.env["PWD"] = state.cwd

    def _skip_options(self, args: list[Arg], valued: str, long_valued: frozenset[str]) -> list[Arg] | None:
        """The words after a wrapper's options; None when an unknown word hides where the command starts."""
        i = 0
        while i < len(args):
            v = args[i].value
            if v is None:
                return None
            if v == "--":
                return args[i + 1 :]
            if v.startswith("--"):
                i += 2 if v in long_valued else 1
            elif v.startswith("-") and len(v) > 1:
                cut = next((j for j, ch in enumerate(v[1:]) if ch in valued), None)
                i += 2 if cut is not None and cut == len(v) - 2 else 1
            else:
                return args[i:]
        return []

    def _unwrap(self, name: str, argv: list[Arg], state: _State, feed: _Feed, depth: int) -> None:
        spec = WRAPPERS[name]
        own = state
        i = 1
        while i < len(argv):
            v = argv[i].value
            if v is None:
                return self._unknown_wrapper(name)
            if v == "--":
                i += 1
                break
            if spec.assigns and (m := _ASSIGN.match(v)):
                own = own.copy() if own is state else own
                own.env[m.group(1)] = m.group(3)
                i += 1
                continue
            option, value = v, None
            if v.startswith("--"):
                option, eq, rest = v.partition("=")
                if option in spec.long_valued and not eq:
                    value, i = (argv[i + 1] if i + 1 < len(argv) else None), i + 2
                else:
                    value, i = Arg(rest, rest), i + 1
            elif v.startswith("-") and len(v) > 1:
                cut = next((j for j, ch in enumerate(v[1:], 1) if ch in spec.valued), None)
                if cut is None:
                    i += 1
                    continue
                option = "-" + v[cut]
                if v[cut + 1 :]:
                    value, i = Arg(v[cut + 1 :], v[cut + 1 :]), i + 1
                else:
                    value, i = (argv[i + 1] if i + 1 < len(argv) else None), i + 2
            else:
                break
            if option in spec.chdir and value is not None:
                own = own.copy() if own is state else own
                own.cwd = resolve(value.value, own.cwd)
            if option in spec.split and value is not None:
                split = self._split(value.value, own)
                if split is None:
                    return self._unknown_wrapper(name)
                argv = argv[:i] + split + argv[i:]
        self.invoke(argv[i + spec.positionals :], own, feed, depth + 1)

    def _git(self, argv: list[Arg], state: _State, depth: int) -> list[Arg]:
        # `git -C dir -c k=v --no-pager push` is `git push`: rules see the subcommand right after the name
        i, aliases = 1, {}
        while i < len(argv):
            v = argv[i].value
            if v is None or not v.startswith("-"):
                break
            if v in GIT_VALUED:
                value = argv[i + 1].value if i + 1 < len(argv) else None
                if v == "-c" and value is not None and value.startswith("alias.") and "=" in value:
                    key, alias = value[6:].split("=", 1)
                    aliases[key] = alias
                i += 2
            else:
                i += 1
        rest = argv[i:]
        if rest and rest[0].value == "config":
            self._git_alias_definition(rest[1:], state, depth)
        if rest and rest[0].value in aliases:
            alias = aliases[rest[0].value or ""]
            if alias.startswith("!"):
                self.code(alias[1:], state.copy(), depth + 1)
                return [argv[0], Arg(None, "<a shell alias>"), *rest[1:]]
            expanded = self._split(alias, state)
            rest = [Arg(None, alias)] if expanded is None else expanded + rest[1:]
        return [argv[0], *rest]

    def _split(self, text: str | None, state: _State) -> list[Arg] | None:
        """`text` split into words as the shell would (`env -S`, a git alias); None when it cannot be."""
        if text is None:
            return None
        try:
            return [self.arg(w, state) for w in words(text)]
        except ShellSyntaxError:
            return None

    def _ln(self, args: list[Arg], state: _State) -> None:
        # `ln -s / r && rm -rf r/` removes what `/` holds: remember where the new link points
        options = [a.value for a in args if a.value and a.value.startswith("-")]
        paths = [a for a in args if not (a.value or "").startswith("-")]
        symbolic = any(o == "--symbolic" or (not o.startswith("--") and "s" in o) for o in options)
        if not symbolic or len(paths) != 2:
            return
        link = resolve(paths[1].value, state.cwd)
        if link is not None:
            target = resolve(paths[0].value, posixpath.dirname(link))
            state.links[link] = target if target is not None else "/"  # unknown target: assume the worst

    def _git_alias_definition(self, args: list[Arg], state: _State, depth: int) -> None:
        # `git config alias.p 'push --force'` makes a later `git p` a forced push: check it where it is written
        for i, a in enumerate(args[:-1]):
            if a.value is not None and a.value.startswith("alias."):
                body = args[i + 1]
                if body.value is None:
                    self.out.unknown.append("a git alias is defined as something only known when it runs")
                elif body.value.startswith("!"):
                    self.code(body.value[1:], state.copy(), depth + 1)
                else:
                    expanded = self._split(body.value, state)
                    self.invoke(
                        [Arg("git", "git"), *(expanded or [Arg(None, body.raw)])], state, _NO_FEED, depth + 1
                    )
                return

    def _xargs(self, args: list[Arg], state: _State, depth: int) -> None:
        i, replace = 0, None
        while i < len(args):
            v = args[i].value
            if v is None:
                return self._unknown_wrapper("xargs")
            if not v.startswith("-") or v == "-":
                break
            if v == "--":
                i += 1
                break
            if v.startswith("--replace"):
                replace = v.partition("=")[2] or "{}"
                i += 1
            elif v.startswith("--"):
                i += 2 if v in XARGS_LONG_VALUED else 1
            elif v.startswith("-I"):
                replace = v[2:] or (args[i + 1].value if i + 1 < len(args) else None) or "{}"
                i += 1 if v[2:] else 2
            elif v.startswith("-i"):
                replace = v[2:] or "{}"
                i += 1
            else:
                cut = next((j for j, ch in enumerate(v[1:], 1) if ch in XARGS_VALUED), None)
                i += 2 if cut is not None and cut == len(v) - 1 else 1
        inner = args[i:] or [Arg("echo", "echo")]
        read = "<what xargs reads>"
        if replace:
            inner = [Arg(None, a.raw) if a.value is not None and replace in a.value else a for a in inner]
        else:
            inner = [*inner, Arg(None, read)]
        self.invoke(inner, state, _NO_FEED, depth + 1)

    def _find(self, args: list[Arg], state: _State, depth: int) -> None:
        i = 0
        while i < len(args) and args[i].value in ("-H", "-L", "-P", "-D"):
            i += 2 if args[i].value == "-D" else 1
        starts: list[Arg] = []
        while i < len(args) and not (args[i].value or "").startswith(("-", "(", "!")):
            starts.append(args[i])
            i += 1
        # what find hands on is anything under its start paths: `find / -delete` is `rm -r /*`
        found = [Arg(None if a.value is None else a.value.rstrip("/") + "/*", a.raw, True) for a in starts]
        found = found or [Arg("./*", ".", True)]
        while i < len(args):
            v = args[i].value
            if v == "-delete":
                self.invoke(
                    [Arg("rm", "find -delete"), Arg("-r", "-r"), Arg("--", "--"), *found],
                    state,
                    _NO_FEED,
                    depth + 1,
                )
            if v in ("-exec", "-execdir", "-ok", "-okdir"):
                end = next((j for j in range(i + 1, len(args)) if args[j].value in (";", "+")), len(args))
                for each in found:
                    inner = [_substitute(a, each) for a in args[i + 1 : end]]
                    self.invoke(inner, state, _NO_FEED, depth + 1)
                i = end
            i += 1


def _substitute(arg: Arg, found: Arg) -> Arg:
    if arg.value is None or "{}" not in arg.value:
        return arg
    if found.value is None:
        return Arg(None, arg.raw)
    return Arg(arg.value.replace("{}", found.value), arg.raw, True)
