"""agent.verify: test command detection, running tests in process groups, scratch copies, candidate checks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agent.verify import detect_test_command, parse_failed, run_tests, scratch_copy, verify_candidate
from tests.procs import dies
from tools.limits import TEST_OUTPUT_BYTES

PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"tests/test_a.py": ""}, "python -m pytest -q"),
        ({"test_a.py": ""}, "python -m pytest -q"),
        ({"pyproject.toml": "[tool.pytest.ini_options]\n"}, "python -m pytest -q"),
        ({"package.json": json.dumps({"scripts": {"test": "jest"}})}, "npm test"),
        ({"package.json": json.dumps({"scripts": {"build": "tsc"}})}, None),
        ({"Cargo.toml": "[package]\n"}, "cargo test"),
        ({"go.mod": "module x\n"}, "go test ./..."),
        ({"Makefile": "build:\n\tcc x.c\ntest: build\n\t./run\n"}, "make test"),
        ({"Makefile": "build:\n\tcc x.c\n"}, None),
        ({"README.md": "hi"}, None),
        ({"package.json": "{not json"}, None),
    ],
)
def test_detect_test_command(tmp_path: Path, files: dict[str, str], expected: str | None) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert detect_test_command(tmp_path) == expected


def _project(root: Path) -> Path:
    (root / "m.py").write_text("def inc(x):\n    return x + 2\n")
    (root / "test_m.py").write_text(
        "import pytest\nfrom m import inc\n\n\ndef test_one():\n    assert inc(1) == 2\n\n\n"
        "def test_zero():\n    assert inc(0) == 2\n\n\n@pytest.mark.parametrize('x', [1, 5])\n"
        "def test_param(x):\n    assert inc(x) == x + 1\n"
    )
    return root


def test_run_tests_parses_failing_node_ids(tmp_path: Path) -> None:
    run = run_tests(_project(tmp_path), PYTEST, timeout=60)
    assert not run.passed and run.returncode == 1 and not run.timed_out
    assert run.failed == ["test_m.py::test_one", "test_m.py::test_param[1]", "test_m.py::test_param[5]"]
    assert "3 failed, 1 passed" in run.output


def test_run_tests_only_selects_node_ids(tmp_path: Path) -> None:
    run = run_tests(_project(tmp_path), PYTEST, timeout=60, only=["test_m.py::test_zero"])
    assert run.passed and run.failed == [] and "1 passed" in run.output


def test_parse_failed_reads_summary_lines() -> None:
    output = (
        "FAILED tests/test_x.py::test_a - AssertionError: assert 1 == 2\n"
        "ERROR tests/test_y.py - ModuleNotFoundError: No module named 'nope'\n"
        "FAILED tests/test_x.py::test_a - again\n"
        "  FAILED not at line start\n"
    )
    assert parse_failed(output) == ["tests/test_x.py::test_a", "tests/test_y.py"]


def test_hanging_candidate_is_killed_with_its_process_group(tmp_path: Path) -> None:
    _project(tmp_path)
    pidfile = tmp_path / "pid"
    hang = f"import os\nopen({str(pidfile)!r}, 'w').write(str(os.getpid()))\nwhile True:\n    pass\n"
    run = verify_candidate(tmp_path, {"m.py": hang}, PYTEST, ["test_m.py::test_one"], timeout=3)
    assert run.timed_out and not run.passed
    assert "timed out after 3s" in run.output
    assert dies(int(pidfile.read_text()))  # the pytest process itself, not only the shell, is gone
    assert (tmp_path / "m.py").read_text().startswith("def inc")  # the workspace was not touched


def test_verify_candidate_runs_failing_first_then_all(tmp_path: Path) -> None:
    _project(tmp_path)
    fixed = {"m.py": "def inc(x):\n    return x + 1\n"}
    run = verify_candidate(tmp_path, fixed, PYTEST, ["test_m.py::test_one"], timeout=60)
    # The whole suite ran last: test_zero now fails, so the candidate is rejected although test_one passes.
    assert not run.passed and run.failed == ["test_m.py::test_zero"]
    wrong = {"m.py": "def inc(x):\n    return x\n"}
    first = verify_candidate(tmp_path, wrong, PYTEST, ["test_m.py::test_one"], timeout=60)
    assert (
        first.failed == ["test_m.py::test_one"] and "1 failed" in first.output
    )  # stopped after the first run


def test_scratch_copy_skips_caches_and_is_removed(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    for rel in (
        "a.py",
        "pkg/b.py",
        ".git/HEAD",
        "pkg/__pycache__/b.pyc",
        "node_modules/x/y.js",
        ".venv/bin/py",
    ):
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text("x")
    with scratch_copy(ws) as copy:
        found = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file())
        assert found == ["a.py", "pkg/b.py"]
        (copy / "a.py").write_text("changed")
    assert not copy.exists() and (ws / "a.py").read_text() == "x"


def test_missing_command_is_a_failed_run_not_an_exception(tmp_path: Path) -> None:
    run = run_tests(tmp_path, "definitely-not-a-command-kiri", timeout=10)
    assert not run.passed and run.returncode == 127


def test_a_test_command_printing_without_end_is_kept_bounded(tmp_path: Path) -> None:
    # 30 MB of output before the summary: the head and the tail (with the summary) are kept, in memory.
    cmd = (
        "head -c 30000000 /dev/zero | tr '\\0' x; echo; echo 'FAILED tests/test_a.py::test_b - boom'; exit 1"
    )
    run = run_tests(tmp_path, cmd, timeout=60)
    assert not run.passed and run.returncode == 1
    assert len(run.output) < 2 * TEST_OUTPUT_BYTES
    assert "bytes of output cut from the middle" in run.output
    assert run.output.rstrip().endswith("FAILED tests/test_a.py::test_b - boom")
