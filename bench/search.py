"""Benchmark: the `search` tool (ripgrep-backed) beside `rg` run directly with the same flags, and the
pure-Python fallback, on a copy of the Python standard library.

    python bench/search.py [--repeat 5] [--tree DIR]

Goal: the tool within 1.3x of rg. Both run in the same process, interleaved, timed with the median of
`--repeat` runs; rg's output is captured through a pipe in both cases, as the tool does.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tools import Gate, ToolContext, default_registry
from tools.search import find_rg, grep, rg_command

CASES: list[dict[str, object]] = [
    {"pattern": "def __init__"},
    {"pattern": "import os"},
    {"pattern": "TODO|FIXME|XXX"},
    {"pattern": r"class \w+Error\(", "context": 2},
    {"pattern": "unicode", "ignore_case": True, "glob": "*.py"},
]


def _median_s(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _copy_stdlib(dest: Path) -> Path:
    src = Path(sysconfig.get_paths()["stdlib"])
    tree = dest / "stdlib"
    shutil.copytree(src, tree, symlinks=True, ignore=shutil.ignore_patterns("site-packages", "__pycache__"))
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tree", type=Path, help="search this directory instead of a stdlib copy")
    args = parser.parse_args()
    rg = find_rg()
    if rg is None:
        raise SystemExit("ripgrep (rg) not found; install the `ripgrep` package")
    with tempfile.TemporaryDirectory() as tmp:
        tree = args.tree.resolve() if args.tree else _copy_stdlib(Path(tmp))
        files = sum(1 for p in tree.rglob("*") if p.is_file())
        print(f"tree: {tree} ({files} files); rg: {rg}; median of {args.repeat} runs\n")
        registry = default_registry()
        ctx = ToolContext(tree, Gate(tree, mode="full-auto"))
        header = f"{'pattern':32} {'matches':>8} {'tool ms':>9} {'rg ms':>9} {'ratio':>6} {'python ms':>10}"
        print(header)
        print("-" * len(header))
        ratios = []
        for case in CASES:
            cmd = rg_command(
                rg, str(case["pattern"]), ".", case.get("glob"), bool(case.get("ignore_case")), int(case.get("context", 0))
            )  # fmt: skip
            result = registry.call("search", case, ctx)
            assert not result.is_error, result.content
            tool_s = rg_s = 0.0
            for _ in range(2):  # interleave, so background load hits both alike
                rg_s += _median_s(lambda c=cmd: subprocess.run(c, cwd=tree, capture_output=True), args.repeat)
                tool_s += _median_s(lambda c=case: registry.call("search", c, ctx), args.repeat)
            kw = {k: v for k, v in case.items() if k != "pattern"}
            start = time.perf_counter()
            outcome = grep(tree, str(case["pattern"]), engine="python", **kw)  # type: ignore[arg-type]
            py_s = time.perf_counter() - start
            ratio = tool_s / rg_s
            ratios.append(ratio)
            label = str(case["pattern"]) + (" -i" if case.get("ignore_case") else "")
            label += f" -C{case['context']}" if case.get("context") else ""
            label += f" -g {case['glob']}" if case.get("glob") else ""
            print(
                f"{label:32} {outcome.total_matches:8} {tool_s / 2 * 1e3:9.1f} {rg_s / 2 * 1e3:9.1f} "
                f"{ratio:6.2f} {py_s * 1e3:10.0f}"
            )
        print(f"\ngeometric mean ratio tool/rg: {statistics.geometric_mean(ratios):.2f} (goal <= 1.3)")


if __name__ == "__main__":
    main()
