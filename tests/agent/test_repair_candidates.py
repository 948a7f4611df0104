"""agent.repair before any test runs: which drafts are admitted, one-token enumeration, ranking, the deadline."""

from __future__ import annotations

import time

import pytest

from agent.localize import masked_logprobs
from agent.repair import (
    UNKNOWN_ORIGINAL_LOGPROB,
    Candidate,
    _Admit,
    code_facts,
    draft_line,
    enumerate_line,
)
from agent.templates import Template, templates_for_line
from tests.agent.test_repair_pipeline import PERIMETER, PERIMETER_OK, memorise, tiny_model

SOURCE = '''"""Totals."""


def total(xs):
    """Sum of xs."""
    s = 0
    for x in xs:
        s += x
    return s
'''


def test_code_facts_names_and_pointless_statements() -> None:
    names, pointless = code_facts(SOURCE)
    assert names == {"total", "xs", "s", "x"}
    assert pointless == 0  # docstrings are not pointless
    assert code_facts(SOURCE.replace("    return s", "    s\n    print(s)\n    s < 1"))[1] == 2
    assert code_facts("def f(:\n") is None


@pytest.mark.parametrize(
    ("old", "new", "admitted"),
    [
        ("s += x", "s -= x", True),  # an operator change
        ("s += x", "s += max(x, 0)", True),  # a builtin function the file did not use yet
        ("s += x", "s += i", False),  # a name the file never uses: NameError
        ("s += x", "t = x", False),  # ... or a dead store
        ("s += x", "s += ValueError", False),  # builtins that are not functions count as unknown names
        ("s += x", "s", False),  # a statement without effect
        ("s += x", "s +=  x", False),  # same meaning, other layout: not a candidate
        ("s += x", "s += (x)", False),
        ("s += x", "s += ", False),  # does not parse
    ],
)
def test_admission(old: str, new: str, admitted: bool) -> None:
    admit = _Admit("totals.py", SOURCE)
    assert (admit.key(SOURCE.replace(old, new)) is not None) == admitted


def test_non_python_files_are_only_compared_as_text() -> None:
    admit = _Admit("notes.txt", "a\n")
    assert admit.key("a\n") is None and admit.key("b\n") == "b\n"


def test_score_is_the_gain_over_the_original() -> None:
    tpl = Template("m.py", "token", 1, 0, 1)
    likely_but_original_likelier = Candidate("m.py", "", tpl, "a", -1.0, 0.0, "a", original_logprob=-0.5)
    less_likely_but_better_than_original = Candidate(
        "m.py", "", tpl, "b", -2.0, 0.0, "b", original_logprob=-6.0
    )
    assert less_likely_but_better_than_original.score > likely_but_original_likelier.score
    unknown = Candidate("m.py", "", tpl, "c", -2.0, -0.5, "c")
    assert unknown.score == pytest.approx(-2.0 - UNKNOWN_ORIGINAL_LOGPROB - 0.5)


@pytest.fixture(scope="module")
def memorised():
    model, tok = tiny_model()
    return memorise(model, tok, PERIMETER_OK), tok


def test_enumeration_is_exact_distinct_and_finds_the_fix(memorised) -> None:
    model, tok = memorised
    source = PERIMETER["shapes.py"]  # `2 * (w - h)` on line 6
    cands = enumerate_line(model, tok, source, "shapes.py", 6, top=20)
    assert len({c.key for c in cands}) == len(cands) > 5
    assert not any(
        c.template.kind == "delete" for c in cands
    )  # it would leave `def perimeter` without a body
    assert all(c.fill.strip() and "\n" not in c.fill for c in cands if c.template.kind != "delete")
    best = max(cands, key=lambda c: c.score)
    assert best.source == PERIMETER_OK and best.fill == "+"
    assert best.original_logprob is not None and best.logprob > best.original_logprob
    # The logprob is the model's own log-probability of the fill in its slot, not an estimate.
    token = [c for c in cands if c.template.kind == "token"][:5]
    rows, positions, targets = [], [], []
    for c in token:
        prefix = tok.encode(source[: c.template.start])
        rows.append(prefix + [model.config.mask_token_id] + tok.encode(source[c.template.end :]))
        positions.append([len(prefix)])
        targets.append(tok.encode(c.fill))
    assert [c.logprob for c in token] == pytest.approx(
        masked_logprobs(model, rows, positions, targets), abs=1e-4
    )


def test_backslash_fills_are_no_disguised_deletions(memorised) -> None:
    model, tok = memorised
    source = PERIMETER["shapes.py"]
    for c in enumerate_line(model, tok, source, "shapes.py", 6, top=len(tok.itos)):
        assert not c.fill.rstrip().endswith("\\")
    line_templates = [t for t in templates_for_line(source, "shapes.py", 6) if t.kind == "line"]
    assert line_templates  # the template a lone `\` would fill


def test_drafting_stops_at_the_deadline(memorised) -> None:
    model, tok = memorised
    source = PERIMETER["shapes.py"]
    start = time.monotonic()
    late = draft_line(
        model, tok, source, "shapes.py", 6, drafts=4, commit="draft_verify", generator=None, deadline=start
    )
    assert late == []  # no generate() call was made
    drafts = draft_line(model, tok, source, "shapes.py", 6, drafts=2, commit="draft_verify", generator=None)
    assert drafts and all(
        len(tok.encode(c.fill)) >= 2 for c in drafts
    )  # one-token fills are enumerate_line's
