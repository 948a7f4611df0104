"""bench/decode.py runs end to end as a subprocess on a checkpoint the test writes (the bench is not in CI's path
otherwise, so a change to generate() or the loader that breaks it would go unnoticed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.local_model.test_model import write_checkpoint

BENCH = Path(__file__).resolve().parents[2] / "bench" / "decode.py"


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(BENCH), "--threads", "1", "--n-prompts", "2", "--new-tokens", "8", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_decode_bench_prints_every_rule_with_and_without_the_cache(tmp_path: Path) -> None:
    ckpt, _ = write_checkpoint(tmp_path / "dream", "dream")
    proc = _bench("--model", str(ckpt), "--block", "4", "--repeat", "2")
    assert proc.returncode == 0, proc.stderr
    # Table rows end in: cache (no/yes), tok/s, NFE, tok/fwd, agree %.
    rows = [line.split() for line in proc.stdout.splitlines() if line.split()[-5:-4] in (["no"], ["yes"])]
    assert [r[0] for r in rows] == ["fixed,"] * 2 + ["threshold"] * 2 + ["draft-verify"] * 2
    assert [r[-5] for r in rows] == ["no", "yes"] * 3
    assert rows[0][-1] == "100.0"  # the baseline agrees with itself
    for row in rows:
        assert int(row[-3]) >= 2 * 8 / 4 and 1.0 <= float(row[-2]) <= 4.0  # NFE, tokens per forward pass
    assert "confidence of the tokens one-token-per-step commits" in proc.stdout


def test_decode_bench_names_a_bad_model_in_one_line(tmp_path: Path) -> None:
    proc = _bench("--model", str(tmp_path / "missing"))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error: no checkpoint at") and "\n" not in proc.stderr.strip()
