"""Cold versus warm test runs: what one candidate's verification costs, side by side in one run.

    python bench/verify.py [--runs 20] [--program binary_search]

Copies one program of the repair benchmark to a temporary directory and runs its tests `--runs` times each way,
alternating: cold (a new `python -m pytest` process per run, as `run_tests` does for any command) and warm (a
forked child of one warm pytest server, agent/warm.py). Each run rewrites the module first, as a candidate would.
Prints median and p90 seconds per run, runs per second, and the ratio. The server's start-up is reported apart.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.verify import command_env, run_tests  # noqa: E402
from agent.warm import WarmPytest  # noqa: E402

HERE = Path(__file__).resolve().parent
CMD = f"{sys.executable} -m pytest -q -x -p no:cacheprovider"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--program", default="binary_search")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kiri-bench-verify-") as tmp:
        work = Path(tmp) / args.program
        shutil.copytree(HERE / "repair" / "programs" / args.program, work)
        module = next(p for p in work.glob("*.py") if not p.name.startswith("test_"))
        source = module.read_text()
        start = time.monotonic()
        warm = WarmPytest.for_command(CMD, command_env())
        if warm is None:
            print("no warm server for this command")
            return 1
        with warm:
            first = run_tests(work, CMD, 120, warm=warm)  # waits for the server to be ready
            startup = time.monotonic() - start
            times: dict[str, list[float]] = {"cold": [], "warm": []}
            outcomes: set[bool] = {first.passed}
            for i in range(args.runs):
                for mode in ("cold", "warm"):
                    module.write_text(source + f"\n# run {i}\n")  # a new file, as each candidate is
                    run = run_tests(work, CMD, 120, warm=warm if mode == "warm" else None)
                    times[mode].append(run.seconds)
                    outcomes.add(run.passed)
    if outcomes != {True}:
        print("some runs failed: the program's tests should pass")
        return 1
    print(
        f"program {args.program}, {args.runs} runs each; warm server start-up {startup:.2f} s (once per worker)"
    )
    for mode, values in times.items():
        values.sort()
        p90 = values[int(0.9 * (len(values) - 1))]
        print(
            f"{mode:5} median {statistics.median(values) * 1000:7.1f} ms  p90 {p90 * 1000:7.1f} ms  "
            f"{1 / statistics.median(values):5.1f} runs/s"
        )
    print(
        f"warm is {statistics.median(times['cold']) / statistics.median(times['warm']):.1f}x faster per run"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
