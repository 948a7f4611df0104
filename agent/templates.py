"""Masked draft templates: which span of a suspicious line the model rewrites.

A template is text only: a character span of the file to replace (empty for an insertion) plus fixed text around
the fill (indentation and a newline for an inserted line). The drafting step turns it into token ids with mask
tokens where the fill goes; `apply` turns a fill back into the candidate file. Keeping templates free of the model
makes them cheap to test and lets line deletion, which needs no model, share the same path.

Kinds, for a target line:
- ``line``: everything after the indentation;
- ``tail``: the line after its first token (keeps ``return``, ``x =``, ``if``); ``head``: all but a closing token;
- ``token``: one operator, name, number or string (via the `tokenize` module, so strings and comments are whole);
- ``arg``: one argument of a call;
- ``insert_before`` / ``insert_after``: a new line with the target's indentation;
- ``delete``: the line removed (the fill is always empty; no model involved).
"""

from __future__ import annotations

import io
import keyword
import tokenize
from dataclasses import dataclass

# Tokens whose replacement is almost never the fix, and that only multiply drafts: brackets, separators and the
# keywords that give a line its shape.
_SKIP_OPS = {"(", ")", "[", "]", "{", "}", ":", ",", ".", ";", "->", "@", "=", "**=", "\\"}
_SKIP_NAMES = {
    "def",
    "class",
    "return",
    "if",
    "elif",
    "else",
    "for",
    "while",
    "import",
    "from",
    "try",
    "except",
    "finally",
    "with",
    "pass",
    "lambda",
    "yield",
    "raise",
    "assert",
    "del",
    "global",
    "nonlocal",
    "as",
}
_OPENERS, _CLOSERS = "([{", ")]}"


@dataclass(frozen=True)
class Template:
    """Replace `source[start:end]` with `before + fill + after`."""

    path: str  # file, relative to the workspace
    kind: str
    line: int  # 1-based line the template targets
    start: int  # character offsets into the file's source
    end: int
    before: str = ""
    after: str = ""

    @property
    def needs_model(self) -> bool:
        return self.kind != "delete"

    def original(self, source: str) -> str:
        """The text the fill replaces."""
        return source[self.start : self.end]

    def apply(self, source: str, fill: str) -> str:
        """The file with this template's span replaced by `fill`."""
        return source[: self.start] + self.before + fill + self.after + source[self.end :]

    def describe(self, source: str) -> str:
        """Short human label: `token '<' line 12`."""
        shown = self.original(source).strip()
        return f"{self.kind} {shown[:40]!r} line {self.line}" if shown else f"{self.kind} line {self.line}"


def line_offsets(source: str) -> list[int]:
    """Character offset of the start of each line (index 0 is line 1), plus the end of the source."""
    offsets = [0]
    for text in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(text))
    return offsets


def templates_for_line(source: str, path: str, line: int) -> list[Template]:
    """Every template for 1-based `line` of `source`, without duplicates (same span, same fixed text)."""
    offsets = line_offsets(source)
    if not 1 <= line < len(offsets):
        return []
    line_start, next_start = offsets[line - 1], offsets[line]
    text = source[line_start:next_start]
    body = text.rstrip("\r\n")
    content = body.strip()
    if not content or content.startswith("#"):
        return []
    indent = body[: len(body) - len(body.lstrip())]
    body_start, body_end = line_start + len(indent), line_start + len(body)
    newline = text[len(body) :] or "\n"

    found: list[Template] = [Template(path, "line", line, body_start, body_end)]
    tokens = _line_tokens(source, line, offsets)
    if len(tokens) > 1:
        first_end = tokens[0][2]
        tail_start = first_end + (len(source[first_end:body_end]) - len(source[first_end:body_end].lstrip()))
        if tail_start < body_end:
            found.append(Template(path, "tail", line, tail_start, body_end))
        last = tokens[-1]
        if last[0] in _CLOSERS or last[0] == ":":
            head_end = last[1]
            found.append(Template(path, "head", line, body_start, head_end))
    for string, start, end, kind in tokens:
        if kind == tokenize.OP and string in _SKIP_OPS:
            continue
        if kind == tokenize.NAME and string in _SKIP_NAMES:
            continue
        found.append(Template(path, "token", line, start, end))
    for start, end in _call_arguments(tokens):
        found.append(Template(path, "arg", line, start, end))
    found.append(Template(path, "insert_before", line, line_start, line_start, before=indent, after=newline))
    # Insert after a block opener: the new line belongs inside the block, one level deeper.
    inner = indent + ("    " if content.endswith(":") else "")
    found.append(Template(path, "insert_after", line, next_start, next_start, before=inner, after=newline))
    found.append(Template(path, "delete", line, line_start, next_start))

    unique: dict[tuple, Template] = {}
    for tpl in found:
        unique.setdefault((tpl.start, tpl.end, tpl.before, tpl.after, tpl.kind == "delete"), tpl)
    return list(unique.values())


def _line_tokens(source: str, line: int, offsets: list[int]) -> list[tuple[str, int, int, int]]:
    """(string, start offset, end offset, token type) of the code tokens on `line`."""
    result = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.start[0] > line:
                break
            if tok.start[0] != line or tok.end[0] != line:
                continue  # a multi-line string cannot be one masked span of this line
            if tok.type not in (tokenize.OP, tokenize.NAME, tokenize.NUMBER, tokenize.STRING):
                continue
            start = offsets[line - 1] + tok.start[1]
            result.append((tok.string, start, offsets[line - 1] + tok.end[1], tok.type))
    except (tokenize.TokenError, SyntaxError):
        pass  # an unfinished file still gives the tokens before the error
    return result


def _call_arguments(tokens: list[tuple[str, int, int, int]]) -> list[tuple[int, int]]:
    """Character spans of the arguments of each call on the line (`f(a, b + 1)` gives `a` and `b + 1`)."""
    spans = []
    stack: list[tuple[bool, int]] = []  # (is a call, start offset of the current argument)
    for i, (string, start, end, kind) in enumerate(tokens):
        if kind == tokenize.OP and string in _OPENERS:
            prev = tokens[i - 1] if i else None
            is_call = (
                string == "("
                and prev is not None
                and ((prev[3] == tokenize.NAME and not keyword.iskeyword(prev[0])) or prev[0] in ")]")
            )
            stack.append((is_call, tokens[i + 1][1] if i + 1 < len(tokens) else end))
        elif kind == tokenize.OP and string in _CLOSERS and stack:
            is_call, arg_start = stack.pop()
            if is_call and start > arg_start:
                spans.append((arg_start, tokens[i - 1][2]))
        elif kind == tokenize.OP and string == "," and stack:
            is_call, arg_start = stack[-1]
            if is_call and start > arg_start:
                spans.append((arg_start, tokens[i - 1][2]))
            stack[-1] = (is_call, tokens[i + 1][1] if i + 1 < len(tokens) else end)
    # An argument starts at its first token, not after the separator's whitespace.
    starts = {start for _, start, _, _ in tokens}
    return [(s, e) for s, e in spans if s in starts and e > s]
