from __future__ import annotations

import pytest

from memory.text import collapse_whitespace, truncate


def test_collapse_whitespace_joins_lines_and_runs() -> None:
    assert collapse_whitespace("  fix\n\tthe   bug \r\n now ") == "fix the bug now"


def test_truncate_keeps_short_text_and_cuts_long_text_with_ellipsis() -> None:
    assert truncate("hello", 5) == "hello"
    assert truncate("hello world", 6) == "hello…"
    assert len(truncate("x" * 100, 10)) == 10


def test_truncate_never_splits_combining_sequences() -> None:
    text = "cafe\u0301 au lait"  # 'é' written as e + combining acute
    assert truncate(text, 5) == "caf…"  # cutting after 'e' would drop its accent
    family = "ab\U0001f468\u200d\U0001f469\u200d\U0001f467cd"  # one ZWJ emoji sequence
    for width in range(3, 8):
        cut = truncate(family, width)
        assert cut in ("ab…", "ab\U0001f468\u200d\U0001f469\u200d\U0001f467…")
    flags = "a\U0001f1ef\U0001f1f5\U0001f1eb\U0001f1f7b"  # two flags, each a pair of regional indicators
    assert truncate(flags, 3) == "a…"
    assert truncate(flags, 4) == "a\U0001f1ef\U0001f1f5…"


def test_truncate_rejects_zero_width() -> None:
    with pytest.raises(ValueError):
        truncate("abc", 0)
