"""Text helpers for titles and display: whitespace, safe truncation, control characters, odd file names."""

from __future__ import annotations

import re
import unicodedata

ELLIPSIS = "…"
_ZWJ = "\u200d"


def collapse_whitespace(text: str) -> str:
    """Return ``text`` with every run of whitespace (newlines included) replaced by one space, trimmed."""
    return " ".join(text.split())


def _extends_previous(ch: str) -> bool:
    """True if ``ch`` belongs to the character before it (combining mark, joiner, emoji modifier...)."""
    if ch == _ZWJ or "\udc00" <= ch <= "\udfff":  # joiner, or the low half of a surrogate pair
        return True
    if "\U0001f3fb" <= ch <= "\U0001f3ff":  # emoji skin-tone modifiers
        return True
    return unicodedata.category(ch) in ("Mn", "Mc", "Me")  # combining marks, variation selectors


def _is_regional_indicator(ch: str) -> bool:
    return "\U0001f1e6" <= ch <= "\U0001f1ff"


def _safe_cut(text: str, cut: int) -> int:
    """Move ``cut`` left until it falls between two user-perceived characters."""
    while cut > 0 and (_extends_previous(text[cut]) or text[cut - 1] == _ZWJ):
        cut -= 1
    # Flags are pairs of regional indicators: never keep half of one.
    if cut > 0 and _is_regional_indicator(text[cut]) and _is_regional_indicator(text[cut - 1]):
        run = 0
        while cut - run > 0 and _is_regional_indicator(text[cut - run - 1]):
            run += 1
        if run % 2:
            cut -= 1
    return cut


def truncate(text: str, width: int) -> str:
    """Cut ``text`` to at most ``width`` characters, ending with '…' when anything was cut.

    The cut never splits a character: combining accents, emoji sequences joined with ZWJ, skin-tone modifiers
    and flag pairs stay whole (the result may then be a little shorter than ``width``).
    """
    if width < 1:
        raise ValueError(f"width must be at least 1, got {width}")
    if len(text) <= width:
        return text
    cut = _safe_cut(text, width - 1)
    return text[:cut].rstrip() + ELLIPSIS


# Control characters that move the cursor, erase or retitle when written raw: C0 but tab and newline, DEL, C1;
# and lone surrogates, which no encoder writes. One scan finds them all, so clean text costs one search.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# File names that need quoting: controls, quotes, backslashes, line and paragraph separators, bidi overrides
# (which reorder what follows them), and undecodable bytes (surrogate-escaped by the OS layer).
_ODD_NAME = re.compile('[\x00-\x1f"\\\\\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]')
_C_ESCAPES = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r",
              '"': '\\"', "\\": "\\\\"}  # fmt: skip


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return "^" + chr(code + 0x40)  # caret notation, as less and cat -v show it: ESC is ^[
    if code == 0x7F:
        return "^?"
    if code <= 0x9F:
        return f"<U+{code:04X}>"  # C1, as less shows it
    return "\ufffd"


def visible(text: str) -> str:
    """``text`` safe to write to a terminal: control characters shown, never sent.

    C0 controls but tab and newline are shown in caret notation (``^[`` for ESC, ``^M`` for a carriage return),
    DEL as ``^?``, C1 controls as ``<U+009B>`` (the convention of ``less``); a lone surrogate, which no
    encoder can write, becomes U+FFFD. Works on any piece of a stream: every character is handled on its own.
    """
    return _UNSAFE.sub(_shown, text) if _UNSAFE.search(text) else text


def replace_surrogates(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD, so it can be encoded (stored, sent, printed)."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def quote_name(name: str) -> str:
    """A file name as git shows it (``core.quotePath``): as is when plain, else C-quoted in double quotes.

    ``a\\nb`` becomes ``"a\\nb"``, so a newline in a name cannot start a line of its own; other odd
    characters become octal escapes of their UTF-8 bytes (undecodable bytes: of the bytes themselves).
    Ordinary non-ASCII letters stay as they are (git with ``core.quotePath=false``).
    """
    if not _ODD_NAME.search(name):
        return name
    out = ['"']
    for ch in name:
        if ch in _C_ESCAPES:
            out.append(_C_ESCAPES[ch])
        elif _ODD_NAME.match(ch):
            try:
                raw = ch.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:  # a surrogate that stands for no byte
                raw = ch.encode("utf-8", "surrogatepass")
            out.extend(f"\\{byte:03o}" for byte in raw)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
