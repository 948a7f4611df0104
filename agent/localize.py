"""Fault localisation for `agent fix --backend local`: rank the lines most likely to hold the bug.

Three signals, each cheap on small projects:
- traceback frames in project files named in the failing test output (the innermost frame weighs most);
- spectrum-based localisation: per-test line coverage from a pytest plugin (`sys.settrace`, run in a scratch
  copy), scored with Ochiai, ef / sqrt(F * (ef + ep)), so lines run mostly by failing tests rank high;
- the model: each candidate line's tokens masked in turn (one batched forward pass per file); lines whose original
  tokens the model finds least likely rank higher.
Test files are never suspects: a repair that edits the tests would "verify" anything.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.verify import is_pytest, run_tests, scratch_copy
from tools.secrets import Secrets

_PYTEST_FRAME = re.compile(r"^([^\s:][^:\n]*\.py):(\d+): ", re.MULTILINE)
_NATIVE_FRAME = re.compile(r'^\s*File "([^"]+\.py)", line (\d+)', re.MULTILINE)
_SECTION = re.compile(r"^_{3,} .+ _{3,}$", re.MULTILINE)

# The coverage plugin, written to a temporary directory and loaded with `-p`: it runs inside the project's own
# pytest process, so it must not import anything from kiri.
_PLUGIN = """
import json, os, sys, threading
import pytest

_ROOT = os.environ["KIRI_COV_ROOT"]
_OUT = os.environ["KIRI_COV_OUT"]
_lines = set()
_coverage = {}
_failed = set()


def _tracer(frame, event, arg):
    path = frame.f_code.co_filename
    if not path.startswith(_ROOT):
        return None  # do not trace library frames line by line
    if event == "line":
        _lines.add((path, frame.f_lineno))
    return _tracer


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _lines.clear()
    threading.settrace(_tracer)
    sys.settrace(_tracer)
    try:
        yield
    finally:
        sys.settrace(None)
        threading.settrace(None)
        _coverage[item.nodeid] = sorted(_lines)


def pytest_runtest_logreport(report):
    if report.failed:
        _failed.add(report.nodeid)


def pytest_sessionfinish(session):
    with open(_OUT, "w") as f:
        json.dump({"coverage": _coverage, "failed": sorted(_failed)}, f)
"""


@dataclass
class Suspect:
    """A line worth rewriting, with the evidence for it."""

    path: str  # relative to the workspace
    line: int  # 1-based
    score: float
    reasons: dict[str, float] = field(default_factory=dict)


def is_test_file(rel: str) -> bool:
    """Whether a workspace-relative path is part of the test suite (never a repair target)."""
    p = Path(rel)
    return (
        p.name.startswith("test_")
        or p.name.endswith("_test.py")
        or p.name == "conftest.py"
        or any(part in ("tests", "test") for part in p.parts[:-1])
    )


def _relative(workspace: Path, raw: str) -> str | None:
    """A frame's file as a workspace-relative path, or None when it lies outside (libraries, the stdlib)."""
    path = Path(raw)
    if not path.is_absolute():
        path = workspace / path
    try:
        rel = path.resolve().relative_to(workspace.resolve())
    except ValueError:
        return None
    return rel.as_posix() if path.is_file() else None


def traceback_scores(workspace: Path, output: str) -> dict[tuple[str, int], float]:
    """Frames in project files from pytest (long/short/native tracebacks): deeper frames score higher, to 1.0."""
    scores: dict[tuple[str, int], float] = {}
    bounds = [m.start() for m in _SECTION.finditer(output)] or [0]
    for start, end in zip(bounds, [*bounds[1:], len(output)], strict=True):
        chunk = output[start:end]
        frames = sorted(
            [(m.start(), m.group(1), int(m.group(2))) for m in _PYTEST_FRAME.finditer(chunk)]
            + [(m.start(), m.group(1), int(m.group(2))) for m in _NATIVE_FRAME.finditer(chunk)]
        )
        local = [(rel, line) for _, raw, line in frames if (rel := _relative(workspace, raw))]
        for depth, key in enumerate(local, start=1):
            scores[key] = max(scores.get(key, 0.0), 0.5 + 0.5 * depth / len(local))
    return scores


def collect_coverage(
    workspace: Path, test_cmd: str, timeout: float, secrets: Secrets | None = None
) -> dict[str, Any] | None:
    """Per-test line coverage {"coverage": {nodeid: [[abs path, line], ...]}, "failed": [...]}, or None.

    Runs in a scratch copy (the suite may write files) and only for pytest commands; None when the run produced
    no data (timeout, plugin not loadable, another runner).
    """
    if not is_pytest(test_cmd):
        return None
    # -x would stop at the first failure and hide the passing tests Ochiai needs.
    words = [w for w in shlex.split(test_cmd) if w not in ("-x", "--exitfirst")]
    with tempfile.TemporaryDirectory(prefix="kiri-cov-") as tmp, scratch_copy(workspace) as scratch:
        Path(tmp, "kiri_covplugin.py").write_text(_PLUGIN, encoding="utf-8")
        out = Path(tmp, "coverage.json")
        cmd = " ".join(shlex.quote(w) for w in words) + " -p kiri_covplugin -p no:cacheprovider"
        env = {
            "KIRI_COV_ROOT": str(scratch.resolve()),
            "KIRI_COV_OUT": str(out),
            "PYTHONPATH": os.pathsep.join(p for p in (tmp, os.environ.get("PYTHONPATH")) if p),
        }
        run_tests(scratch, cmd, timeout, env=env, secrets=secrets)
        if not out.is_file():
            return None
        data = json.loads(out.read_text(encoding="utf-8"))
        root = str(scratch.resolve())
        # Rewrite scratch paths to workspace-relative ones before the scratch copy disappears.
        data["coverage"] = {
            node: [[os.path.relpath(p, root), n] for p, n in lines]
            for node, lines in data["coverage"].items()
        }
        return data


def ochiai_scores(data: dict[str, Any]) -> dict[tuple[str, int], float]:
    """Ochiai suspiciousness of every covered line, from `collect_coverage` data."""
    failed = set(data["failed"])
    total_failed = sum(1 for node in data["coverage"] if node in failed)
    if not total_failed:
        return {}
    ef: dict[tuple[str, int], int] = {}
    ep: dict[tuple[str, int], int] = {}
    for node, lines in data["coverage"].items():
        counts = ef if node in failed else ep
        for path, line in lines:
            key = (path, int(line))
            counts[key] = counts.get(key, 0) + 1
    return {key: n / math.sqrt(total_failed * (n + ep.get(key, 0))) for key, n in ef.items()}


def masked_distributions(
    model: Any, rows: Sequence[Sequence[int]], positions: Sequence[Sequence[int]]
) -> list[Any]:
    """Log-probabilities over the vocabulary at `positions` of each row, one batched forward pass: a list of
    (len(positions[i]), V) float tensors on the CPU.

    Rows may differ in length; they are right-padded and the padding is hidden with the attention mask. A position
    the model cannot predict (the first one of a Dream-family model, whose logits are shifted) gets all -inf.
    """
    import torch

    config = model.config
    device = next(model.parameters()).device
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), config.pad_token_id, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        attention[i, : len(row)] = True
    shift = 1 if config.logit_shift else 0  # Dream family: logits[:, i] predict token i + 1
    out = []
    # no_grad, not inference_mode: callers edit the returned tensors in place, which inference tensors forbid.
    with torch.no_grad():
        logits = model(ids.to(device), attention_mask=attention.to(device))  # (B, T, V)
        for i, wanted in enumerate(positions):
            dist = torch.full((len(wanted), logits.shape[-1]), float("-inf"))
            known = [j for j, pos in enumerate(wanted) if pos - shift >= 0]
            if known:
                # Only the wanted positions are normalised and copied: (B, T, V) can be gigabytes for a large
                # vocabulary, and callers want a few positions per row.
                picked = logits[i, [wanted[j] - shift for j in known]].float()
                dist[known] = torch.log_softmax(picked, dim=-1).cpu()
            out.append(dist)
    return out


def masked_logprobs(
    model: Any,
    rows: Sequence[Sequence[int]],
    masked: Sequence[Sequence[int]],
    targets: Sequence[Sequence[int]],
) -> list[float]:
    """Mean log-probability of `targets` at the `masked` positions of each row, in one batched forward pass.

    Positions the model cannot predict (see `masked_distributions`) are left out of the mean; none left gives 0.
    """
    scores = []
    for dist, wanted in zip(masked_distributions(model, rows, masked), targets, strict=True):
        picked = [float(dist[j, t]) for j, t in enumerate(wanted)]
        picked = [v for v in picked if v != float("-inf")]
        scores.append(sum(picked) / len(picked) if picked else 0.0)
    return scores


def encode_lines(tokenizer: Any, source: str) -> list[list[int]]:
    """Token ids of each line (newline included), encoded line by line so line boundaries are token boundaries."""
    return [tokenizer.encode(text) for text in source.splitlines(keepends=True)]


def window(line_ids: list[list[int]], index: int, budget: int) -> tuple[int, int]:
    """Lines [lo, hi) around 0-based line `index` whose tokens fit `budget`, growing both ways alternately."""
    lo, hi = index, index + 1
    used = len(line_ids[index])
    grew = True
    while grew:
        grew = False
        if lo > 0 and used + len(line_ids[lo - 1]) <= budget:
            lo -= 1
            used += len(line_ids[lo])
            grew = True
        if hi < len(line_ids) and used + len(line_ids[hi]) <= budget:
            used += len(line_ids[hi])
            hi += 1
            grew = True
    return lo, hi


def model_scores(
    model: Any, tokenizer: Any, source: str, lines: list[int], budget: int = 384
) -> dict[int, float]:
    """Negative mean log-probability of each 1-based line's tokens when masked (higher = more surprising)."""
    line_ids = encode_lines(tokenizer, source)
    mask = model.config.mask_token_id
    lines = [n for n in lines if 1 <= n <= len(line_ids) and line_ids[n - 1]]
    if not lines:
        return {}
    rows, masked, targets = [], [], []
    for n in lines:
        lo, hi = window(line_ids, n - 1, budget)
        before = [t for ids in line_ids[lo : n - 1] for t in ids]
        after = [t for ids in line_ids[n:hi] for t in ids]
        target = line_ids[n - 1]
        rows.append(before + [mask] * len(target) + after)
        masked.append(list(range(len(before), len(before) + len(target))))
        targets.append(target)
    return {n: -s for n, s in zip(lines, masked_logprobs(model, rows, masked, targets), strict=True)}


def rank_lines(
    workspace: Path,
    failing_output: str,
    test_cmd: str,
    *,
    model: Any = None,
    tokenizer: Any = None,
    coverage_timeout: float = 60.0,
    max_lines: int = 200,
    model_lines: int = 64,
    secrets: Secrets | None = None,
) -> list[Suspect]:
    """Suspicious lines of non-test project files, most suspicious first.

    score = traceback + Ochiai + 0.5 * model rank (the model's surprise, rank-normalised to [0, 1] per file).
    """
    workspace = Path(workspace)
    tb = {k: v for k, v in traceback_scores(workspace, failing_output).items() if not is_test_file(k[0])}
    data = collect_coverage(workspace, test_cmd, coverage_timeout, secrets)
    sbfl = {k: v for k, v in (ochiai_scores(data) if data else {}).items() if not is_test_file(k[0])}
    keys = set(tb) | set(sbfl)
    if not keys:
        # Nothing points anywhere (another runner, or the bug stops collection): every line of the project's
        # non-test Python files is a suspect, and the model alone orders them.
        for path in sorted(workspace.rglob("*.py")):
            rel = path.relative_to(workspace).as_posix()
            if is_test_file(rel) or any(part.startswith(".") for part in Path(rel).parts):
                continue
            keys |= {(rel, n) for n in range(1, len(path.read_text(encoding="utf-8").splitlines()) + 1)}
    suspects = {k: Suspect(k[0], k[1], 0.0) for k in keys}
    for key, s in suspects.items():
        s.reasons = {name: v for name, src in (("traceback", tb), ("ochiai", sbfl)) if (v := src.get(key))}
    if model is not None and tokenizer is not None:
        # The model re-ranks the lines the other signals found most suspicious (all lines when they found none).
        prior = sorted(keys, key=lambda k: (-(tb.get(k, 0) + sbfl.get(k, 0)), k))[:model_lines]
        by_file: dict[str, list[int]] = {}
        for path, line in prior:
            by_file.setdefault(path, []).append(line)
        for path, lines in by_file.items():
            source = (workspace / path).read_text(encoding="utf-8")
            surprise = model_scores(model, tokenizer, source, lines)
            order = sorted(surprise, key=surprise.__getitem__)
            for rank, line in enumerate(order):
                suspects[(path, line)].reasons["model"] = (rank + 1) / len(order)
    for s in suspects.values():
        s.score = s.reasons.get("traceback", 0) + s.reasons.get("ochiai", 0) + 0.5 * s.reasons.get("model", 0)
    ranked = sorted(suspects.values(), key=lambda s: (-s.score, s.path, s.line))
    return [s for s in ranked if _is_code_line(workspace, s)][:max_lines]


def _is_code_line(workspace: Path, suspect: Suspect) -> bool:
    """Blank lines and comments are no repair targets."""
    lines = (workspace / suspect.path).read_text(encoding="utf-8").splitlines()
    if not 1 <= suspect.line <= len(lines):
        return False
    text = lines[suspect.line - 1].strip()
    return bool(text) and not text.startswith("#")
