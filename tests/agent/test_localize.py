"""agent.localize: ranking suspicious lines from a real failing pytest run, coverage and a tiny model."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from agent.localize import (
    collect_coverage,
    is_test_file,
    model_scores,
    ochiai_scores,
    rank_lines,
    traceback_scores,
)
from agent.verify import run_tests
from tests.agent.test_repair_pipeline import CharTokenizer, memorise, tiny_model

PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"

STATS = (
    "def mean(xs):\n"  # 1
    "    return total(xs) / count(xs)\n"  # 2
    "\n"  # 3
    "\n"  # 4
    "def total(xs):\n"  # 5
    "    return sum(xs)\n"  # 6
    "\n"  # 7
    "\n"  # 8
    "def count(xs):\n"  # 9
    "    n = len(xs) - len(xs)\n"  # 10: the bug (always 0)
    "    return n\n"  # 11
)
TESTS = (
    "from stats import mean, total\n\n\n"
    "def test_total():\n    assert total([1, 2]) == 3\n\n\n"
    "def test_mean():\n    assert mean([1, 2, 3]) == 2\n"
)


def _failing(tmp_path: Path):
    (tmp_path / "stats.py").write_text(STATS)
    (tmp_path / "test_stats.py").write_text(TESTS)
    run = run_tests(tmp_path, PYTEST, timeout=60)
    assert run.failed == ["test_stats.py::test_mean"], run.output
    return run


def test_traceback_frames_rank_the_raising_line(tmp_path: Path) -> None:
    run = _failing(tmp_path)  # ZeroDivisionError raised in mean(), called from the test
    scores = traceback_scores(tmp_path, run.output)
    assert scores[("stats.py", 2)] == 1.0  # the innermost project frame
    assert 0.5 < scores[("test_stats.py", 9)] < 1.0  # the test's own frame, outer
    assert all(Path(tmp_path, path).is_file() for path, _ in scores)  # library frames are dropped


def test_ochiai_over_per_test_coverage(tmp_path: Path) -> None:
    _failing(tmp_path)
    data = collect_coverage(tmp_path, PYTEST + " -x", timeout=60)
    assert data is not None and sorted(data["coverage"]) == [
        "test_stats.py::test_mean",
        "test_stats.py::test_total",
    ]
    assert data["failed"] == ["test_stats.py::test_mean"]  # -x was dropped: the passing test ran too
    scores = ochiai_scores(data)
    assert (
        scores[("stats.py", 10)] == 1.0 and scores[("stats.py", 2)] == 1.0
    )  # only the failing test runs them
    assert abs(scores[("stats.py", 6)] - 2**-0.5) < 1e-9  # run by both tests
    assert ("stats.py", 5) not in scores  # `def` lines run at import, outside any test


def test_rank_lines_prefers_source_lines_over_tests(tmp_path: Path) -> None:
    run = _failing(tmp_path)
    ranked = rank_lines(tmp_path, run.output, PYTEST)
    assert [(s.path, s.line) for s in ranked[:3]] == [("stats.py", 2), ("stats.py", 10), ("stats.py", 11)]
    assert ranked[0].reasons == {"traceback": 1.0, "ochiai": 1.0}
    assert not any(is_test_file(s.path) for s in ranked)


def test_model_surprise_singles_out_the_changed_line() -> None:
    torch.set_num_threads(1)
    correct = "def f(a, b):\n    c = a + b\n    d = c * 2\n    return d - a\n"
    model, tok = tiny_model()
    memorise(model, tok, correct, steps=200)
    buggy = correct.replace("c * 2", "c * 3")  # same length: positions stay where the model learnt them
    surprise = model_scores(model, tok, buggy, [2, 3, 4])
    assert max(surprise, key=surprise.__getitem__) == 3, surprise


def test_is_test_file() -> None:
    assert is_test_file("test_x.py") and is_test_file("pkg/x_test.py") and is_test_file("tests/helpers.py")
    assert is_test_file("conftest.py") and not is_test_file("src/testing_utils.py")
    assert isinstance(CharTokenizer().encode("x"), list) and torch.is_tensor(torch.zeros(1))
