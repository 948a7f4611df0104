"""agent.templates: every template masks what it says and keeps the rest of the file byte for byte."""

from __future__ import annotations

import ast

from agent.templates import templates_for_line

SOURCE = (
    "def scale(xs, k):\n"
    "    out = []\n"
    "    for i in range(len(xs) - 1):\n"
    "        out.append(round(xs[i] * k, 2))  # keep two digits\n"
    "    return out\n"
)


def test_every_template_keeps_everything_outside_its_span() -> None:
    for line in range(1, 6):
        for tpl in templates_for_line(SOURCE, "m.py", line):
            # Re-filling with the original text restores the file (insertions add only their fixed text).
            if tpl.kind.startswith("insert"):
                assert tpl.start == tpl.end and tpl.after == "\n"
                assert (
                    tpl.apply(SOURCE, "pass")
                    == SOURCE[: tpl.start] + tpl.before + "pass\n" + SOURCE[tpl.end :]
                )
            else:
                assert tpl.apply(SOURCE, tpl.original(SOURCE)) == SOURCE
            marked = tpl.apply(SOURCE, "\x00")
            assert marked[: tpl.start] == SOURCE[: tpl.start]
            assert marked.endswith(SOURCE[tpl.end :])


def test_masked_spans_per_kind() -> None:
    spans = {(t.kind, t.original(SOURCE)) for t in templates_for_line(SOURCE, "m.py", 3)}
    assert ("line", "for i in range(len(xs) - 1):") in spans
    assert ("tail", "i in range(len(xs) - 1):") in spans
    assert ("head", "for i in range(len(xs) - 1)") in spans
    assert ("arg", "len(xs) - 1") in spans
    tokens = {text for kind, text in spans if kind == "token"}
    assert tokens == {"i", "in", "range", "len", "xs", "-", "1"}  # no brackets, colon or `for`
    assert ("delete", "    for i in range(len(xs) - 1):\n") in spans


def test_call_arguments_and_comments() -> None:
    line4 = templates_for_line(SOURCE, "m.py", 4)
    args = [t.original(SOURCE) for t in line4 if t.kind == "arg"]
    assert args == [
        "xs[i] * k",
        "round(xs[i] * k, 2)",
    ]  # `2` is already a token template: one span, one template
    assert [t.original(SOURCE) for t in line4].count("2") == 1
    line_tpl = next(t for t in line4 if t.kind == "line")
    assert line_tpl.original(SOURCE).endswith("# keep two digits")  # the whole line after the indentation
    assert all("keep" not in t.original(SOURCE) for t in line4 if t.kind == "token")  # comments are no tokens


def test_insertions_use_the_right_indentation() -> None:
    line3 = {t.kind: t for t in templates_for_line(SOURCE, "m.py", 3)}
    after = line3["insert_after"].apply(SOURCE, "x = 1")
    assert "    for i in range(len(xs) - 1):\n        x = 1\n        out.append" in after  # inside the block
    before = line3["insert_before"].apply(SOURCE, "x = 1")
    assert "    out = []\n    x = 1\n    for i" in before
    ast.parse(after)
    ast.parse(before)


def test_deletion_needs_no_model_and_blank_lines_get_no_templates() -> None:
    delete = next(t for t in templates_for_line(SOURCE, "m.py", 2) if t.kind == "delete")
    assert not delete.needs_model
    assert delete.apply(SOURCE, "") == SOURCE.replace("    out = []\n", "")
    assert templates_for_line("x = 1\n\n# note\n", "m.py", 2) == []
    assert templates_for_line("x = 1\n\n# note\n", "m.py", 3) == []
    assert templates_for_line("x = 1\n", "m.py", 9) == []
