"""Repair benchmark: `agent fix --backend local` on one-line bugs in small programs, two decoding rules.

    python bench/repair/run.py                       # every bug, draft-and-verify and one-token-per-step
    python bench/repair/run.py --only gcd,stack --candidates 32 --time-limit 120 --decode draft_verify
    python bench/repair/run.py --json results.json   # also write every row
    python bench/repair/run.py --model runs/kiri-coder/export   # another checkpoint (KIRI_LOCAL_MODEL)

Each bug in bugs.json is (program, file, line, original, buggy, kind); `buggy: null` means the line was deleted.
For each bug and decoding rule: copy `programs/<name>/` to a fresh temporary directory, apply the bug, run
`agent fix --backend local --yes --json --test-cmd "python -m pytest -q -x"` as a subprocess (the decoding rule
goes through `KIRI_LOCAL_COMMIT`: `draft_verify`, or `fixed` for one token per forward pass), then check for
ourselves: do the tests pass now (fixed), and is the file identical to the correct program (fixed exactly)?
The correct programs live only here (`bench/repair/programs/*/*.py`), so training data can be checked against them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEST_CMD = "python -m pytest -q -x -p no:cacheprovider"


def apply_bug(source: str, bug: dict) -> str:
    lines = source.splitlines(keepends=True)
    if lines[bug["line"] - 1].rstrip("\n") != bug["original"]:
        raise SystemExit(f"bugs.json is stale for {bug['program']}: line {bug['line']} differs")
    lines[bug["line"] - 1] = "" if bug["buggy"] is None else bug["buggy"] + "\n"
    return "".join(lines)


def run_one(bug: dict, decode: str, args: argparse.Namespace, scratch: Path) -> dict:
    work = scratch / f"{bug['program']}-{decode}"
    shutil.copytree(HERE / "programs" / bug["program"], work)
    correct = (work / bug["file"]).read_text()
    (work / bug["file"]).write_text(apply_bug(correct, bug))
    env = {**os.environ, "KIRI_HOME": str(scratch / "home"), "KIRI_LOCAL_COMMIT": decode, "NO_COLOR": "1"}
    if args.model:
        env["KIRI_LOCAL_MODEL"] = str(Path(args.model).resolve())
    cmd = [sys.executable, "-m", "agent", "fix", "make the failing tests pass", "--backend", "local", "--yes", "--json", "--test-cmd", TEST_CMD,
           "--candidates", str(args.candidates), "--time-limit", str(args.time_limit)]  # fmt: skip
    proc = subprocess.run(
        cmd, cwd=work, env=env, capture_output=True, text=True, timeout=args.time_limit + 300
    )
    try:
        summary = json.loads(proc.stdout[proc.stdout.index("{") :])
    except ValueError:
        summary = {}
    tests = subprocess.run(TEST_CMD.split(), cwd=work, capture_output=True, text=True, timeout=120)
    row = {
        "program": bug["program"],
        "kind": bug["kind"],
        "decode": decode,
        "exit": proc.returncode,
        "fixed": tests.returncode == 0,
        "exact": (work / bug["file"]).read_text() == correct,
        "seconds": summary.get("seconds"),
        "candidates": summary.get("candidates_tried", summary.get("steps")),
    }
    if not summary:
        row["error"] = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return row


def table(rows: list[dict], decode: str) -> str:
    mine = [r for r in rows if r["decode"] == decode]
    if not mine:
        return ""
    seconds = [r["seconds"] for r in mine if r["seconds"] is not None] or [0.0]
    tried = [r["candidates"] for r in mine if r["candidates"] is not None] or [0]
    return (
        f"{decode:<13} fixed {sum(r['fixed'] for r in mine):>3}/{len(mine):<3} "
        f"exact {sum(r['exact'] for r in mine):>3}/{len(mine):<3} "
        f"median {statistics.median(seconds):6.1f}s  max {max(seconds):6.1f}s  "
        f"median candidates {statistics.median(tried):5.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=64)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--decode", choices=["both", "draft_verify", "fixed"], default="both")
    parser.add_argument("--model", help="checkpoint directory (default: the bundled model)")
    parser.add_argument("--only", help="comma-separated program names")
    parser.add_argument("--json", type=Path, help="write every row to this file")
    args = parser.parse_args(argv)
    bugs = json.loads((HERE / "bugs.json").read_text())
    if args.only:
        wanted = set(args.only.split(","))
        bugs = [b for b in bugs if b["program"] in wanted]
    decodes = ["draft_verify", "fixed"] if args.decode == "both" else [args.decode]
    rows = []
    with tempfile.TemporaryDirectory(prefix="kiri-bench-") as tmp:
        for bug in bugs:
            for decode in decodes:
                row = run_one(bug, decode, args, Path(tmp))
                rows.append(row)
                print(json.dumps(row), flush=True)
    print()
    for decode in decodes:
        print(table(rows, decode))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
