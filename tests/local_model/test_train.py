"""Training: a tiny model on a tiny corpus learns, saves, reloads through load.py, and generates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from local_model import train as train_mod
from local_model.tokenizer import EOS, MASK, PAD, Tokenizer, train_bpe

CONFIGS = Path(train_mod.__file__).parent / "configs"
SOURCE = '''
def add(a, b):
    """Return the sum of a and b."""
    return a + b


def mul(a, b):
    """Return the product of a and b."""
    return a * b


class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        return self.items.pop()
'''


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    src = out / "src.txt"
    src.write_text(SOURCE * 20)
    tok = train_bpe([str(src)], 300, out / "tokenizer.json")
    ids = []
    for _ in range(40):
        ids += tok.encode(SOURCE) + [tok.token_to_id(EOS)]
    arr = np.asarray(ids, dtype=np.uint16)
    arr.tofile(out / "train.bin")
    arr.tofile(out / "val.bin")
    return out


def test_tokenizer_reserves_special_tokens_and_round_trips(corpus):
    tok = Tokenizer.from_file(corpus / "tokenizer.json")
    assert [tok.token_to_id(t) for t in (MASK, EOS, PAD)] == [0, 1, 2]
    text = "    def push(self, item):\n        self.items.append(item)\n"
    assert tok.decode(tok.encode(text)) == text


def test_mask_batch_masks_at_the_requested_ratio():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, 100, (64, 256), generator=g)
    noisy, masked, t = train_mod.mask_batch(ids, 0, 1e-3, g, ratio=0.5)
    assert abs(masked.float().mean().item() - 0.5) < 0.01
    assert torch.equal(noisy[~masked], ids[~masked]) and bool((noisy[masked] == 0).all())
    _, _, t = train_mod.mask_batch(ids, 0, 1e-3, g)
    # Stratified: one t in each 1/B slice of [eps, 1].
    slices = torch.floor((t - 1e-3) / (1 - 1e-3) * 64).long().sort().values
    assert torch.equal(slices, torch.arange(64))


def test_tiny_model_learns_saves_reloads_and_generates(corpus, tmp_path):
    cfg = train_mod.TrainConfig.from_toml(CONFIGS / "tiny.toml")
    cfg.max_steps, cfg.eval_every, cfg.log_every = 150, 150, 50
    tok = Tokenizer.from_file(corpus / "tokenizer.json")
    untrained = train_mod.DiffusionLM(cfg.model_config(tok))
    untrained.init_weights(torch.Generator().manual_seed(cfg.seed))
    before = train_mod.evaluate(untrained, corpus / "val.bin", cfg, torch.device("cpu"))

    run = tmp_path / "run"
    state = train_mod.train(cfg, corpus, run, resume=False, max_minutes=None, device="cpu")
    after = state["evals"][-1]
    assert after["val_elbo_nats"] < before["val_elbo_nats"] - 1.0, (before, after)
    assert after["val_acc@0.15"] > before["val_acc@0.15"] + 0.2
    assert (run / "ckpt.pt").exists() and (run / "loss.png").stat().st_size > 1000

    # Resuming continues from the saved step instead of starting over.
    cfg.max_steps = 160
    resumed = train_mod.train(cfg, corpus, run, resume=True, max_minutes=None, device="cpu")
    assert resumed["step"] == 160 and resumed["tokens"] == 160 * cfg.batch_size * cfg.seq_len

    from local_model.load import load_model
    from local_model.sampler import generate

    weights = tmp_path / "weights"
    train_mod.export(run, weights, corpus)
    model, tok2 = load_model(weights)
    assert model.config.family == "kiri" and model.config.mask_token_id == tok2.token_to_id(MASK)
    prompt = torch.tensor([tok2.encode("def add(a, b):\n")])
    ids, stats = generate(model, prompt, max_new_tokens=16, block_length=16, commit="draft_verify")
    assert ids.shape == (1, prompt.shape[1] + 16) and stats.nfe >= 1
    assert not bool((ids == model.config.mask_token_id).any())
