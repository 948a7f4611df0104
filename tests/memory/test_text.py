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


def test_visible_shows_control_characters_in_caret_and_less_notation() -> None:
    from memory.text import visible

    assert visible("a\x1b[2Kb\x00\x7f\r") == "a^[[2Kb^@^?^M"
    assert visible("csi \x9b31m nel \x85") == "csi <U+009B>31m nel <U+0085>"
    assert visible("tab\tand\nnewline é 😀") == "tab\tand\nnewline é 😀"  # kept as they are
    assert visible("half \ud800 pair") == "half \ufffd pair"
    plain = "nothing to do"
    assert visible(plain) is plain  # the common case costs one search, no copy


def test_replace_surrogates_makes_text_encodable() -> None:
    from memory.text import replace_surrogates

    assert replace_surrogates("a\ud800b\udfff").encode("utf-8") == "a\ufffdb\ufffd".encode()
    assert replace_surrogates("ok 😀") == "ok 😀"


def test_quote_name_quotes_odd_names_like_git() -> None:
    from memory.text import quote_name

    assert quote_name("src/main.py") == "src/main.py"
    assert quote_name("café.py") == "café.py"  # ordinary letters stay (core.quotePath=false)
    assert quote_name("a\nb.txt") == '"a\\nb.txt"'
    assert quote_name('say "hi"\\.txt') == '"say \\"hi\\"\\\\.txt"'
    assert quote_name("esc\x1b[2K.txt") == '"esc\\033[2K.txt"'
    assert quote_name("rtl\u202etxt.exe") == '"rtl\\342\\200\\256txt.exe"'
    assert quote_name("bad\udcffbyte") == '"bad\\377byte"'  # an undecodable byte, as os.listdir gives it
    assert "\n" not in quote_name("x\n" * 3)
