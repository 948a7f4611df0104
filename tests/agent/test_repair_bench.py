"""bench/repair: every correct program passes its tests and every listed bug makes at least one fail.

Run in-process (importlib, test functions called directly) to stay fast: 45 pytest processes would take minutes.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "repair"
BUGS = json.loads((BENCH / "bugs.json").read_text())
KINDS = {
    "wrong operator",
    "off-by-one",
    "wrong variable",
    "missing call",
    "wrong constant",
    "wrong condition",
    "wrong call",
}


def apply_bug(source: str, bug: dict) -> str:
    """The buggy version: line `bug["line"]` replaced by `bug["buggy"]` (removed when it is null)."""
    lines = source.splitlines(keepends=True)
    assert lines[bug["line"] - 1].rstrip("\n") == bug["original"], bug
    lines[bug["line"] - 1] = "" if bug["buggy"] is None else bug["buggy"] + "\n"
    return "".join(lines)


def failures(name: str, source: str) -> list[str]:
    """Names of the test functions of program `name` that fail when its module has `source`."""
    module = types.ModuleType(name)
    module.__file__ = str(BENCH / "programs" / name / f"{name}.py")
    saved = sys.modules.get(name)
    sys.modules[name] = module
    try:
        exec(compile(source, module.__file__, "exec"), module.__dict__)
        tests: dict = {}
        test_path = BENCH / "programs" / name / f"test_{name}.py"
        exec(compile(test_path.read_text(), str(test_path), "exec"), tests)
        failed = []
        for fname, fn in tests.items():
            if fname.startswith("test_") and callable(fn):
                try:
                    fn()
                except (
                    AssertionError,
                    ArithmeticError,
                    LookupError,
                    TypeError,
                    ValueError,
                    NameError,
                    AttributeError,
                    RecursionError,
                    pytest.fail.Exception,
                ):
                    failed.append(fname)
        return failed
    finally:
        if saved is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = saved


def test_suite_shape() -> None:
    programs = sorted(p.name for p in (BENCH / "programs").iterdir() if p.is_dir())
    assert len(programs) >= 40
    assert sorted(b["program"] for b in BUGS) == programs  # one bug per program
    for name in programs:
        assert {p.name for p in (BENCH / "programs" / name).glob("*.py")} == {
            f"{name}.py",
            f"test_{name}.py",
        }
    assert {b["kind"] for b in BUGS} <= KINDS


@pytest.mark.parametrize("bug", BUGS, ids=[b["program"] for b in BUGS])
def test_correct_passes_and_bug_fails(bug: dict) -> None:
    source = (BENCH / "programs" / bug["program"] / bug["file"]).read_text()
    assert failures(bug["program"], source) == []
    buggy = apply_bug(source, bug)
    assert buggy != source
    assert failures(bug["program"], buggy), f"the {bug['kind']} bug in {bug['program']} fails no test"
