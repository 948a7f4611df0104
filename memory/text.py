"""Text helpers for titles and display: whitespace collapsing and character-safe truncation."""

from __future__ import annotations

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
