"""`agent fix --backend local` end to end: a real subprocess, the bundled model, a real pytest project, the store.

The bug is an extra line, so a fix (deleting it; `s += 0` passes too) does not depend on the tiny bundled model's
skill: what is tested is the command around the search: the exit code, the JSON summary, the gate, and the
session record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agent.verify import run_tests
from tests.agent.test_repair_pipeline import EXTRA_LINE, make_project

TEST_CMD = f"{sys.executable} -m pytest -q -x -p no:cacheprovider"
FIXED = EXTRA_LINE["totals.py"].replace("    s += 1\n", "")


def _fix(
    root: Path, *extra: str, stdin: str = "", env: dict | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "agent", "fix", "make the tests pass", "--backend", "local", "--json",
           "--test-cmd", TEST_CMD, "--candidates", "64", "--time-limit", "240", *extra]  # fmt: skip
    env = {**os.environ, **(env or {})}
    return subprocess.run(cmd, cwd=root, input=stdin, capture_output=True, text=True, timeout=600, env=env)


def _summary(proc: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(proc.stdout)  # with --json, stdout is the summary alone; progress goes to stderr


def _export(session: str, root: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "export", session, "--format", "json"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_local_fix_applies_the_verified_candidate_and_records_every_try(tmp_path: Path) -> None:
    root = make_project(tmp_path / "totals", EXTRA_LINE)
    proc = _fix(root, "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Deleting the line and `s += 0` both pass the tests; which one is verified first depends on the two workers.
    assert (root / "totals.py").read_text() in (
        FIXED,
        FIXED.replace("    return s", "    s += 0\n    return s"),
    )
    assert run_tests(root, TEST_CMD, timeout=60).passed
    summary = _summary(proc)
    tried = summary["steps"]  # candidates verified
    assert summary["verified"] and summary["files_changed"] == ["totals.py"] and tried >= 1
    assert "-    s += 1\n" in summary["diff"]
    record = _export(summary["session_id"], root)
    runs = record["tool_runs"]
    *tries, applied = runs
    assert len(tries) == tried and {r["name"] for r in tries} == {"verify_candidate"}
    assert (applied["name"], applied["result"]) == ("apply_fix", "applied")
    # The first to pass ends the search (with two workers, a second one may finish passing before the cancel).
    assert 1 <= [r["result"].startswith("passed") for r in tries].count(True) <= 2
    assert all(json.loads(r["arguments"])["diff"].startswith("--- a/totals.py") for r in tries)
    [change] = record["file_changes"]
    assert change["diff"] == summary["diff"] and change["tool_run_id"] == applied["id"]
    # ... so `agent undo` takes the fix back as one step.
    undo = subprocess.run([sys.executable, "-m", "agent", "undo", summary["session_id"]], cwd=root,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert undo.returncode == 0, undo.stderr
    assert (root / "totals.py").read_text() == EXTRA_LINE["totals.py"]


def test_denied_approval_leaves_the_workspace_untouched(tmp_path: Path) -> None:
    root = make_project(tmp_path / "totals", EXTRA_LINE)
    before = {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}
    proc = _fix(root, "--approval", "ask", stdin="n\n")  # without a terminal the default would be auto-edit
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "not applied" in proc.stderr and not _summary(proc)["files_changed"]
    assert {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()} == before


def test_compile_setting_reaches_the_model_and_fails_cleanly_without_a_compiler(tmp_path: Path) -> None:
    root = make_project(tmp_path / "totals", EXTRA_LINE)
    before = {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}
    proc = _fix(
        root,
        env={"KIRI_LOCAL_COMPILE": "default", "CXX": str(tmp_path / "no-such-c++"), "KIRI_DEVICE": "cpu"},
    )
    assert proc.returncode != 0
    assert "needs a C++ compiler" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()} == before
