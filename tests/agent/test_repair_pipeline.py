"""The draft-and-verify pipeline end to end: real pytest subprocesses in scratch copies, a tiny real model.

What each project shows, honestly:
- `extra_line`: a bug fixed by deleting a line; the model is random, so this shows localisation, ranking of the
  deletion and verification, not the model's skill.
- `perimeter`: a one-token bug fixed by a model *trained for a few hundred steps on the correct file* (it memorised
  it): shows that model drafts flow through templates, infilling, parsing, ranking and verification to a fix.
- `greeting`: a random model cannot write the right string: not verified, clear report, workspace untouched.
- `countdown`: deleting `n -= 1` makes the candidate loop forever; the per-run timeout kills it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
import torch

from agent.repair import repair
from agent.verify import run_tests
from local_model.config import ModelConfig
from local_model.model import DiffusionLM

TEST_CMD = f"{sys.executable} -m pytest -q -x -p no:cacheprovider"


class CharTokenizer:
    """One token per character: enough for a tiny model, and fills decode exactly."""

    SPECIALS = ("<mask>", "<eos>", "<pad>")

    def __init__(self) -> None:
        chars = ["\t", "\n", *map(chr, range(32, 127))]
        self.itos = [*self.SPECIALS, *chars]
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    def encode(self, text: str) -> list[int]:
        return [self.stoi[c] for c in text if c in self.stoi]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.itos[i] for i in ids if i >= len(self.SPECIALS))


def tiny_model(seed: int = 0) -> tuple[DiffusionLM, CharTokenizer]:
    tok = CharTokenizer()
    config = ModelConfig(
        family="kiri",
        vocab_size=len(tok.itos),
        hidden_size=64,
        intermediate_size=128,
        num_layers=2,
        num_heads=4,
        num_kv_heads=2,
        mask_token_id=0,
        eos_token_id=1,
        pad_token_id=2,
        max_position_embeddings=1024,
    )
    model = DiffusionLM(config)
    model.init_weights(torch.Generator().manual_seed(seed))
    return model.eval(), tok


def memorise(model: DiffusionLM, tok: CharTokenizer, text: str, steps: int = 300) -> DiffusionLM:
    """Masked-diffusion training on one text until the model can infill any part of it."""
    gen = torch.Generator().manual_seed(1)
    ids = torch.tensor(tok.encode(text))[None].repeat(16, 1)  # (16, T)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    model.train()
    for _ in range(steps):
        t = 0.05 + 0.95 * torch.rand((16, 1), generator=gen)
        masked = torch.rand(ids.shape, generator=gen) < t
        noisy = torch.where(masked, torch.full_like(ids, model.config.mask_token_id), ids)
        logits = model(noisy)  # (16, T, V)
        loss = torch.nn.functional.cross_entropy(logits[masked], ids[masked])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def make_project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def failing_run(root: Path):
    run = run_tests(root, TEST_CMD, timeout=60)
    assert not run.passed and run.failed, run.output
    return run


EXTRA_LINE = {
    "totals.py": "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    s += 1\n    return s\n",
    "test_totals.py": "from totals import total\n\n\ndef test_total():\n    assert total([1, 2, 3]) == 6\n\n\n"
    "def test_empty():\n    assert total([]) == 0\n",
}

PERIMETER_OK = "def area(w, h):\n    return w * h\n\n\ndef perimeter(w, h):\n    return 2 * (w + h)\n"
PERIMETER = {
    "shapes.py": PERIMETER_OK.replace("(w + h)", "(w - h)"),
    "test_shapes.py": "from shapes import area, perimeter\n\n\ndef test_area():\n    assert area(2, 3) == 6\n\n\n"
    "def test_perimeter():\n    assert perimeter(2, 3) == 10\n",
}

GREETING = {
    "greet.py": 'def greet(name):\n    return "goodbye " + name\n',
    "test_greet.py": 'from greet import greet\n\n\ndef test_greet():\n    assert greet("bob") == "hello bob"\n',
}

COUNTDOWN = {
    "countdown.py": "def countdown(n):\n    total = 0\n    while n > 0:\n        total += n\n        n -= 1\n"
    '    return "liftoff!"\n',
    "test_countdown.py": 'from countdown import countdown\n\n\ndef test_countdown():\n    assert countdown(3) == "liftoff"\n',
}


def test_deletion_fix_found_with_random_model(tmp_path: Path) -> None:
    root = make_project(tmp_path / "extra_line", EXTRA_LINE)
    failing = failing_run(root)
    before = snapshot(root)
    model, tok = tiny_model()
    result = repair(
        root,
        TEST_CMD,
        failing,
        model,
        tok,
        candidates=12,
        time_limit=240,
        per_run_timeout=30,
        generator=torch.Generator().manual_seed(0),
    )
    assert result.verified, result.report
    deleted = EXTRA_LINE["totals.py"].replace("    s += 1\n", "")
    # The deletion ranks first; `s += 0` also passes, and with two workers it may be verified first.
    assert result.candidate in (
        {"totals.py": deleted},
        {"totals.py": deleted.replace("    return", "    s += 0\n    return")},
    )
    assert "-    s += 1\n" in result.diff and result.files == ["totals.py"]
    assert result.candidates_tried == len(result.attempts) >= 1
    assert result.attempts[-1].run.passed or any(a.run.passed for a in result.attempts)
    assert snapshot(root) == before  # repair() only proposes; fix.py applies through the gate


def test_memorised_model_drafts_the_one_token_fix(tmp_path: Path) -> None:
    root = make_project(tmp_path / "perimeter", PERIMETER)
    failing = failing_run(root)
    model, tok = tiny_model()
    memorise(model, tok, PERIMETER_OK)
    result = repair(
        root,
        TEST_CMD,
        failing,
        model,
        tok,
        candidates=16,
        time_limit=240,
        per_run_timeout=30,
        generator=torch.Generator().manual_seed(0),
    )
    assert result.verified, result.report
    assert result.candidate == {"shapes.py": PERIMETER_OK}
    winner = next(a for a in result.attempts if a.run.passed).candidate
    assert winner.template.needs_model and "+" in winner.fill  # drafted by the model, not a deletion
    assert result.suspects[0].line == 6  # the model's surprise and coverage put the buggy line first


def test_not_verified_reports_and_leaves_workspace_untouched(tmp_path: Path) -> None:
    root = make_project(tmp_path / "greeting", GREETING)
    failing = failing_run(root)
    before = snapshot(root)
    model, tok = tiny_model()
    result = repair(
        root,
        TEST_CMD,
        failing,
        model,
        tok,
        candidates=3,
        time_limit=240,
        per_run_timeout=30,
        generator=torch.Generator().manual_seed(0),
    )
    assert not result.verified and result.candidate is None and result.diff == ""
    assert result.candidates_tried == 3 == len(result.attempts)
    assert all(not a.run.passed for a in result.attempts)
    assert result.report.startswith("not verified: 3 candidates tried") and "candidate limit" in result.report
    assert snapshot(root) == before


def test_hanging_candidate_is_killed_by_per_run_timeout(tmp_path: Path) -> None:
    root = make_project(tmp_path / "countdown", COUNTDOWN)
    failing = failing_run(root)
    before = snapshot(root)
    model, tok = tiny_model()
    result = repair(
        root,
        TEST_CMD,
        failing,
        model,
        tok,
        candidates=6,
        time_limit=240,
        per_run_timeout=4,
        workers=2,
        generator=torch.Generator().manual_seed(0),
    )
    hung = [a for a in result.attempts if a.run.timed_out]
    assert hung, [
        (a.candidate.template.describe(a.candidate.source), a.run.summary()) for a in result.attempts
    ]
    assert all("n -= 1" not in a.candidate.source.split("while")[1] for a in hung)
    assert not result.verified and snapshot(root) == before


@pytest.fixture(autouse=True)
def _quiet_torch_threads() -> None:
    # Two shared cores: one torch thread leaves the other for the pytest subprocesses being verified.
    torch.set_num_threads(1)
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")


def test_scratch_copies_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "extra_line2", EXTRA_LINE)
    failing = failing_run(root)
    model, tok = tiny_model()
    # A private temporary directory: other kiri processes on the machine make their own scratch copies.
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    repair(
        root,
        TEST_CMD,
        failing,
        model,
        tok,
        candidates=2,
        time_limit=120,
        per_run_timeout=30,
        generator=torch.Generator().manual_seed(0),
    )
    assert list(private.iterdir()) == []  # scratch copies and warm servers' files are gone
