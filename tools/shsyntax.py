"""The shell parser under the deny rules: lists, pipelines, groups, functions and simple commands.

Compound commands (`if`, `while`, `for`, `case`) are read permissively: their keywords are skipped and the
commands inside them are kept, which is all a deny rule needs. Anything else it cannot read with confidence raises
`ShellSyntaxError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.shlexer import Part, ShellSyntaxError, Token, Word, tokens, words

__all__ = [
    "Command",
    "FuncDef",
    "Group",
    "Part",
    "Pipeline",
    "Redirect",
    "Script",
    "ShellSyntaxError",
    "Simple",
]
__all__ += ["Word", "parse", "words"]

_REDIRS = frozenset({"<", ">", ">>", ">|", "<>", "<&", ">&", "&>", "&>>", "<<", "<<-", "<<<"})
_SKIPPED_KEYWORDS = frozenset({"if", "then", "elif", "else", "do", "while", "until", "!"})
_CLOSING_KEYWORDS = frozenset({"fi", "done", "esac", "}"})
_MAX_NESTING = 100  # groups inside groups; a bound on hostile input, far above real commands


@dataclass(frozen=True)
class Redirect:
    op: str  # `>`, `>>`, `<`, `<<<`, `<<`, ...
    fd: str  # the number written before the operator, '' when none
    target: Word
    heredoc: str | None = None  # the body of `<<` / `<<-`
    heredoc_literal: bool = True  # the delimiter was quoted, so the body is not expanded


@dataclass
class Simple:
    words: list[Word] = field(default_factory=list)
    assigns: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class Group:
    body: Script
    subshell: bool
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class FuncDef:
    name: str
    body: Command


Command = Simple | Group | FuncDef


@dataclass
class Pipeline:
    stages: list[Command]


@dataclass
class Script:
    items: list[Pipeline] = field(default_factory=list)


class _Parser:
    def __init__(self, toks: list[Token], heredocs: dict[int, tuple[str, bool]]) -> None:
        self.toks = toks
        self.heredocs = heredocs
        self.i = 0
        self.depth = 0

    def peek(self) -> Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def is_op(self, *ops: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "op" and tok.text in ops

    def script(self, until: str | None = None) -> Script:
        script = Script()
        while True:
            while self.is_op(";", "\n", "&", ";;", ";&", ";;&"):
                self.i += 1
            if self._at_end(until):
                return script
            script.items.append(self.pipeline())
            if self.is_op("&&", "||"):
                self.i += 1
                continue
            tok = self.peek()
            if tok is None or self.is_op(";", "\n", "&", ";;", ";&", ";;&"):
                continue
            if (until == ")" and self.is_op(")")) or (
                until == "}" and tok.kind == "word" and tok.text == "}"
            ):
                continue
            raise ShellSyntaxError(f"unexpected {tok.text!r}")

    def _at_end(self, until: str | None) -> bool:
        """Whether the list ends here (at the end of the text or at its closing `)` / `}`, which it consumes)."""
        tok = self.peek()
        if tok is None:
            if until is not None:
                raise ShellSyntaxError(f"missing '{until}'")
            return True
        if (until == ")" and self.is_op(")")) or (until == "}" and tok.kind == "word" and tok.text == "}"):
            self.i += 1
            return True
        return False

    def pipeline(self) -> Pipeline:
        stages = [self.command()]
        while self.is_op("|", "|&"):
            self.i += 1
            while self.is_op("\n"):
                self.i += 1
            stages.append(self.command())
        return Pipeline(stages)

    def command(self) -> Command:
        self.depth += 1
        try:
            if self.depth > _MAX_NESTING:
                raise ShellSyntaxError("groups nested too deeply")
            return self._command()
        finally:
            self.depth -= 1

    def _command(self) -> Command:
        tok = self.peek()
        while tok is not None and tok.kind == "word" and tok.text in _SKIPPED_KEYWORDS:
            self.i += 1
            tok = self.peek()
        if tok is None:
            return Simple()
        if tok.kind == "op" and tok.text == "(":
            self.i += 1
            if self.is_op("("):
                raise ShellSyntaxError("arithmetic commands '((...))' are not read")
            return Group(self.script(until=")"), True, self.redirects())
        if tok.kind == "word" and tok.text == "{":
            self.i += 1
            return Group(self.script(until="}"), False, self.redirects())
        if tok.kind == "word" and tok.text in _CLOSING_KEYWORDS:
            self.i += 1
            return Simple(redirects=self.redirects())
        if tok.kind == "word" and tok.text == "function":
            self.i += 1
            name = self.peek()
            if name is None or name.kind != "word":
                raise ShellSyntaxError("function without a name")
            self.i += 1
            if self.is_op("("):
                self._empty_parens()
            return FuncDef(name.text, self.command())
        if tok.kind == "word" and self._next_is_parens():
            self.i += 1
            self._empty_parens()
            while self.is_op("\n"):
                self.i += 1
            return FuncDef(tok.text, self.command())
        if tok.kind == "word" and tok.text == "case":
            return self.case()
        return self.simple()

    def _next_is_parens(self) -> bool:
        nxt = self.toks[self.i + 1 : self.i + 3]
        return len(nxt) == 2 and all(t.kind == "op" for t in nxt) and [t.text for t in nxt] == ["(", ")"]

    def _empty_parens(self) -> None:
        if not self.is_op("("):
            raise ShellSyntaxError("expected '('")
        self.i += 1
        if not self.is_op(")"):
            raise ShellSyntaxError("expected ')'")
        self.i += 1

    def case(self) -> Command:
        # `case WORD in PATTERN) LIST ;; ... esac`: the word and patterns are kept only for what they expand.
        words = [Word("case", (Part("lit", "case"),))]
        self.i += 1
        body = Script()
        while True:
            tok = self.peek()
            if tok is None:
                raise ShellSyntaxError("missing 'esac'")
            self.i += 1
            if tok.kind == "word" and tok.text == "esac":
                break
            if tok.word is not None:
                words.append(tok.word)
            elif tok.text == ")":
                while True:
                    while self.is_op("\n", ";"):
                        self.i += 1
                    nxt = self.peek()
                    if (
                        nxt is None
                        or self.is_op(";;", ";&", ";;&")
                        or (nxt.kind == "word" and nxt.text == "esac")
                    ):
                        break
                    start = self.i
                    body.items.append(self.pipeline())
                    if self.i == start:
                        raise ShellSyntaxError(f"unexpected {nxt.text!r} in case")
                    if self.is_op("&&", "||", "&"):
                        self.i += 1
        return Group(Script([Pipeline([Simple(words)]), *body.items]), False, self.redirects())

    def redirects(self) -> list[Redirect]:
        out: list[Redirect] = []
        while self.is_op(*_REDIRS):
            out.append(self._redirect())
        return out

    def _redirect(self) -> Redirect:
        index = self.i
        op = self.toks[index]
        self.i += 1
        target = self.peek()
        if target is None or target.word is None:
            raise ShellSyntaxError(f"'{op.text}' without a target")
        self.i += 1
        body = self.heredocs.get(index)
        if body is not None:
            return Redirect(op.text, op.fd, target.word, body[0], body[1])
        return Redirect(op.text, op.fd, target.word)

    def simple(self) -> Simple:
        cmd = Simple()
        while True:
            tok = self.peek()
            if tok is None:
                break
            if tok.kind == "op":
                if tok.text in _REDIRS:
                    cmd.redirects.append(self._redirect())
                    continue
                if tok.text == "(" and cmd.words:
                    raise ShellSyntaxError("unexpected '('")
                break
            assert tok.word is not None
            if not cmd.words and tok.word.assignment:
                cmd.assigns.append(tok.word)
            else:
                cmd.words.append(tok.word)
            self.i += 1
            if cmd.words and cmd.words[0].raw == "[[":
                self._until_double_bracket(cmd)
        return cmd

    def _until_double_bracket(self, cmd: Simple) -> None:
        # `[[ ... ]]` may hold `<`, `>`, `&&`, `||`, `(`, `)` that are not operators there
        while True:
            tok = self.peek()
            if tok is None:
                raise ShellSyntaxError("missing ']]'")
            self.i += 1
            if tok.word is not None:
                cmd.words.append(tok.word)
                if tok.text == "]]":
                    return


def parse(text: str) -> Script:
    """Parse a command line; raises ShellSyntaxError where kiri cannot read it with confidence."""
    toks, heredocs = tokens(text)
    return _Parser(toks, heredocs).script()
