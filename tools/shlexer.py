"""The shell lexer under the deny rules: text to words and operators, as bash splits them.

Not `shlex`: it forgets which parts of a word were quoted (`'$x'` and `$x` look the same), splits `$(`, `${` and
`$'..'` apart, knows neither `|&`, `&>`, here-documents nor brace expansion, and takes `#` inside a word for a
comment, so `echo a#b; rm -rf /` would hide the `rm`. A word keeps its parts, so the walker can tell literal text
from expansions whose value is only known when the command runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

PartKind = Literal["lit", "quoted", "var", "sub", "procsub", "arith", "brace", "glob", "tilde"]

_OPERATORS = (
    "&&",
    "||",
    ";;&",
    ";;",
    ";&",
    "|&",
    "&>>",
    "&>",
    "<<<",
    "<<-",
    "<<",
    "<>",
    "<&",
    ">>",
    ">&",
    ">|",
)
_SINGLE_OPS = ";&|()<>\n"
_BRACKET = re.compile(
    r"\[[^\s;&|()<>\]]+\]"
)  # `[` is a glob only with its `]`: `[ -f x ]` is the test command
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_ANSI_C = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}


class ShellSyntaxError(ValueError):
    """The text is not shell kiri can read with confidence (unbalanced quotes, unsupported syntax)."""


@dataclass(frozen=True)
class Part:
    """One piece of a word: literal text, or an expansion whose value is only known when it runs."""

    kind: PartKind
    text: str  # the literal text; a variable's name; the body of a substitution


@dataclass(frozen=True)
class Word:
    raw: str
    parts: tuple[Part, ...]

    @property
    def glob(self) -> bool:
        return any(p.kind == "glob" for p in self.parts)

    @property
    def bodies(self) -> list[str]:
        """Code that runs while the word is expanded: `$(...)`, backticks, `<(...)`."""
        return [p.text for p in self.parts if p.kind in ("sub", "procsub")]

    @property
    def assignment(self) -> bool:
        return (
            bool(self.parts) and self.parts[0].kind == "lit" and bool(_ASSIGNMENT.match(self.parts[0].text))
        )


@dataclass(frozen=True)
class Token:
    kind: Literal["word", "op"]
    text: str
    word: Word | None = None
    fd: str = ""


class _Lexer:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.toks: list[Token] = []
        self.pending: list[tuple[int, str, bool, bool]] = []  # (token index, delimiter, quoted, strip tabs)
        self.heredocs: dict[int, tuple[str, bool]] = {}

    def run(self) -> list[Token]:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t":
                self.i += 1
            elif c == "\\" and s.startswith("\\\n", self.i):
                self.i += 2
            elif c == "#":
                while self.i < len(s) and s[self.i] != "\n":
                    self.i += 1
            elif c == "\n":
                self.toks.append(Token("op", "\n"))
                self.i += 1
                self._read_heredocs()
            elif c in "<>" and s.startswith("(", self.i + 1):
                self._word()
            elif c in _SINGLE_OPS:
                self._operator("")
            else:
                start = self.i
                word = self._word()
                if (
                    word.raw.isdigit()
                    and self.i < len(s)
                    and s[self.i] in "<>"
                    and self.i == start + len(word.raw)
                ):
                    self.toks.pop()
                    self._operator(word.raw)
        if self.pending:
            raise ShellSyntaxError("here-document without its end line")
        return self.toks

    def _operator(self, fd: str) -> None:
        op = next((o for o in _OPERATORS if self.s.startswith(o, self.i)), self.s[self.i])
        self.i += len(op)
        self.toks.append(Token("op", op, fd=fd))
        if op in ("<<", "<<-"):
            index = len(self.toks) - 1
            while self.i < len(self.s) and self.s[self.i] in " \t":
                self.i += 1
            delim = self._word()
            quoted = any(p.kind == "quoted" for p in delim.parts) or "\\" in delim.raw
            text = "".join(p.text for p in delim.parts)
            self.pending.append((index, text, quoted, op == "<<-"))

    def _read_heredocs(self) -> None:
        for index, delim, quoted, strip in self.pending:
            lines: list[str] = []
            while True:
                if self.i >= len(self.s):
                    raise ShellSyntaxError("here-document without its end line")
                end = self.s.find("\n", self.i)
                end = len(self.s) if end < 0 else end
                line = self.s[self.i : end]
                self.i = end + 1
                if (line.lstrip("\t") if strip else line) == delim:
                    break
                lines.append(line)
            self.heredocs[index] = ("\n".join(lines) + "\n", quoted)
        self.pending = []

    def _word(self) -> Word:
        s = self.s
        start = self.i
        parts: list[Part] = []
        lit: list[str] = []

        def flush() -> None:
            if lit:
                parts.append(Part("lit", "".join(lit)))
                lit.clear()

        if s.startswith("~", self.i):
            m = re.compile(r"~[A-Za-z0-9_.+-]*").match(s, self.i)
            assert m is not None
            parts.append(Part("tilde", m.group()[1:]))
            self.i = m.end()
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\n" or (c in _SINGLE_OPS and not (c in "<>" and s.startswith("(", self.i + 1))):
                break
            if c == "\\":
                if self.i + 1 >= len(s):
                    raise ShellSyntaxError("a backslash at the very end")
                if s[self.i + 1] != "\n":
                    flush()
                    parts.append(Part("quoted", s[self.i + 1]))
                self.i += 2
            elif c == "'":
                end = s.find("'", self.i + 1)
                if end < 0:
                    raise ShellSyntaxError("unbalanced single quote")
                flush()
                parts.append(Part("quoted", s[self.i + 1 : end]))
                self.i = end + 1
            elif c == '"':
                flush()
                self.i += 1
                parts.extend(self._double_quoted())
            elif c == "$" and s.startswith("$'", self.i):
                flush()
                parts.append(Part("quoted", self._ansi_c()))
            elif c == "$" and s.startswith('$"', self.i):
                flush()
                self.i += 2
                parts.extend(self._double_quoted())
            elif c == "$" or c == "`":
                part = self._expansion()
                if part is None:
                    lit.append(c)
                    self.i += 1
                else:
                    flush()
                    parts.append(part)
            elif c in "<>":  # process substitution <(...) / >(...)
                flush()
                parts.append(Part("procsub", self._balanced(self.i + 1)))
            elif c in "*?" or (c == "[" and _BRACKET.match(s, self.i)):
                flush()
                parts.append(Part("glob", c))
                self.i += 1
            elif c == "{" and self._brace_expansion():
                flush()
                end = s.index("}", self.i)
                parts.append(Part("brace", s[self.i : end + 1]))
                self.i = end + 1
            else:
                lit.append(c)
                self.i += 1
        flush()
        word = Word(s[start : self.i], tuple(parts))
        self.toks.append(Token("word", word.raw, word))
        return word

    def _brace_expansion(self) -> bool:
        m = re.compile(r"\{[^{}\s'\"$`]*(,|\.\.)[^{}\s'\"$`]*\}").match(self.s, self.i)
        return m is not None

    def _double_quoted(self) -> list[Part]:
        s = self.s
        parts: list[Part] = []
        lit: list[str] = []
        while True:
            if self.i >= len(s):
                raise ShellSyntaxError("unbalanced double quote")
            c = s[self.i]
            if c == '"':
                self.i += 1
                break
            if c == "\\" and self.i + 1 < len(s) and s[self.i + 1] in '$`"\\\n':
                if s[self.i + 1] != "\n":
                    lit.append(s[self.i + 1])
                self.i += 2
            elif c in "$`":
                part = self._expansion()
                if part is None:
                    lit.append(c)
                    self.i += 1
                else:
                    if lit:
                        parts.append(Part("quoted", "".join(lit)))
                        lit = []
                    parts.append(part)
            else:
                lit.append(c)
                self.i += 1
        parts.append(Part("quoted", "".join(lit)))
        return parts

    def _expansion(self) -> Part | None:
        s = self.s
        if s[self.i] == "`":
            end = self.i + 1
            body: list[str] = []
            while end < len(s) and s[end] != "`":
                if s[end] == "\\" and end + 1 < len(s) and s[end + 1] in "$`\\":
                    end += 1
                body.append(s[end])
                end += 1
            if end >= len(s):
                raise ShellSyntaxError("unbalanced backquote")
            self.i = end + 1
            return Part("sub", "".join(body))
        nxt = s[self.i + 1 : self.i + 2]
        if s.startswith("$((", self.i):
            return Part("arith", self._balanced(self.i + 1))
        if nxt == "(":
            return Part("sub", self._balanced(self.i + 1))
        if nxt == "{":
            end = self._closing(self.i + 2, "{", "}")
            inner = s[self.i + 2 : end]
            self.i = end + 1
            m = _NAME.match(inner)
            name = m.group() if m and m.end() == len(inner) else "?" + inner
            return Part("var", name)
        m = _NAME.match(s, self.i + 1)
        if m:
            self.i = m.end()
            return Part("var", m.group())
        if nxt and nxt in "@*#?$!-0123456789":
            self.i += 2
            return Part("var", nxt)
        return None

    def _balanced(self, open_at: int) -> str:
        """The text inside the parentheses opening at `open_at`; moves past the closing one."""
        end = self._closing(open_at + 1, "(", ")")
        self.i = end + 1
        return self.s[open_at + 1 : end]

    def _closing(self, i: int, opening: str, closing: str) -> int:
        s = self.s
        depth = 1
        while i < len(s):
            c = s[i]
            if c == "\\":
                i += 2
                continue
            if c == "'" and opening == "(":
                i = s.find("'", i + 1)
                if i < 0:
                    break
            elif c == '"':
                i += 1
                while i < len(s) and s[i] != '"':
                    i += 2 if s[i] == "\\" else 1
            elif c == opening:
                depth += 1
            elif c == closing:
                depth -= 1
                if depth == 0:
                    return i
            i += 1
        raise ShellSyntaxError(f"unbalanced '{opening}'")

    def _ansi_c(self) -> str:
        s = self.s
        i = self.i + 2
        out: list[str] = []
        while i < len(s) and s[i] != "'":
            if s[i] == "\\" and i + 1 < len(s):
                c = s[i + 1]
                m = re.compile(
                    r"x([0-9a-fA-F]{1,2})|u([0-9a-fA-F]{1,4})|U([0-9a-fA-F]{1,8})|([0-7]{1,3})"
                ).match(s, i + 1)
                if m:
                    digits = next(g for g in m.groups() if g)
                    out.append(chr(int(digits, 8 if m.group(4) else 16) % 0x110000))
                    i = m.end()
                    continue
                out.append(_ANSI_C.get(c, c))
                i += 2
            else:
                out.append(s[i])
                i += 1
        if i >= len(s):
            raise ShellSyntaxError("unbalanced $'...' quote")
        self.i = i + 1
        return "".join(out)


def tokens(text: str) -> tuple[list[Token], dict[int, tuple[str, bool]]]:
    """The tokens of `text` and the bodies of its here-documents (keyed by the index of their `<<`)."""
    lexer = _Lexer(text)
    return lexer.run(), lexer.heredocs


def words(text: str) -> list[Word]:
    """The words of a text split as the shell would (operators end up as words of their own)."""
    return [
        t.word if t.word is not None else Word(t.text, (Part("lit", t.text),)) for t in _Lexer(text).run()
    ]
