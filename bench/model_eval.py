"""Evaluate a masked-diffusion coder on the held-out split: the numbers of its model card.

    python bench/model_eval.py --model kiri-coder --data data/corpus [--samples 1000] [--json out.json]

Prints parameters, held-out loss (ELBO in nats and bits per token), masked-token accuracy at mask ratios
0.15 / 0.5 / 0.9, and line infilling: one whole line of a held-out file is masked (with the true number of tokens:
an oracle length, as in published infilling evaluations of diffusion models), the model fills it, and we count exact
matches and fills that parse with the rest of the file -- for one-token-per-step decoding and for draft-and-verify,
with tokens per forward pass.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from local_model.load import load_model  # noqa: E402
from local_model.sampler import generate  # noqa: E402
from local_model.train import Batches, diffusion_loss, mask_batch  # noqa: E402

BEFORE, AFTER = 160, 48  # context tokens kept around the masked line (the model trained on 256-token windows)


@torch.no_grad()
def loss_and_accuracy(model, val_bin: Path, batches: int, seq_len: int = 256, batch_size: int = 8) -> dict:
    g = torch.Generator().manual_seed(1234)
    data = Batches(val_bin, seq_len, batch_size, g)
    mask_id = model.config.mask_token_id
    elbo, acc = 0.0, defaultdict(float)
    for _ in range(batches):
        ids = data.next()
        noisy, masked, t = mask_batch(ids, mask_id, 1e-3, g)
        elbo += diffusion_loss(model, ids, noisy, masked, t)[0].item()
        for r in (0.15, 0.5, 0.9):
            noisy, masked, t = mask_batch(ids, mask_id, 1e-3, g, ratio=r)
            acc[r] += diffusion_loss(model, ids, noisy, masked, t)[2].item()
    elbo /= batches
    return {
        "elbo_nats_per_token": elbo,
        "bits_per_token": elbo / math.log(2),
        **{f"masked_acc@{r}": a / batches for r, a in acc.items()},
    }


def line_samples(files: list[dict], tok, n: int, seed: int = 0) -> list[dict]:
    """n (file, line) pairs: non-blank lines of 2..48 tokens, with token context around them."""
    rng = random.Random(seed)
    samples = []
    while len(samples) < n:
        f = rng.choice(files)
        lines = f["text"].splitlines(keepends=True)
        i = rng.randrange(len(lines))
        line = lines[i]
        if not line.strip() or line.strip().startswith("#"):
            continue
        before, after = "".join(lines[:i]), "".join(lines[i + 1 :])
        target = tok.encode(line)
        if not 2 <= len(target) <= 48:
            continue
        # Token boundaries: encode pieces separately so the masked span is exactly the line's tokens.
        pre, post = tok.encode(before)[-BEFORE:], tok.encode(after)[:AFTER]
        samples.append(
            {"pre": pre, "target": target, "post": post, "before": before, "after": after, "line": line}
        )
    return samples


def infill(model, tok, samples: list[dict], commit: str, batch_size: int, **kw) -> dict:
    mask_id = model.config.mask_token_id
    groups = defaultdict(list)
    for s in samples:  # one shape per batch: same context and line lengths need no padding
        groups[(len(s["pre"]), len(s["target"]), len(s["post"]))].append(s)
    exact = parses = nfe = tokens = 0
    started = time.perf_counter()
    for (_, n_target, _), group in groups.items():
        for i in range(0, len(group), batch_size):
            chunk = group[i : i + batch_size]
            template = torch.tensor([s["pre"] + [mask_id] * n_target + s["post"] for s in chunk])
            out, stats = generate(
                model, template=template, commit=commit, block_length=n_target, stop_at_eos=False, **kw
            )
            nfe += stats.nfe * len(chunk)  # forward passes per sample, as batch 1 would need
            tokens += n_target * len(chunk)
            for s, row in zip(chunk, out.tolist(), strict=True):
                filled = tok.decode(row[len(s["pre"]) : len(s["pre"]) + n_target])
                exact += filled.strip() == s["line"].strip()
                parses += _parses(s["before"] + filled + ("" if filled.endswith("\n") else "\n") + s["after"])
    n = len(samples)
    return {
        "exact_match_pct": 100 * exact / n,
        "parses_pct": 100 * parses / n,
        "tokens_per_forward": tokens / max(1, nfe),
        "seconds": time.perf_counter() - started,
    }


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="kiri-coder")
    p.add_argument("--data", type=Path, default=Path("data/corpus"))
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--loss-batches", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    model, tok = load_model(a.model, device="cpu", dtype=torch.float32)
    model.eval()
    files = json.loads((a.data / "val_files.json").read_text())
    parsing = [f for f in files if _parses(f["text"])]  # a fill can only parse if the file did
    results = {
        "parameters": model.num_parameters(),
        **loss_and_accuracy(model, a.data / "val.bin", a.loss_batches),
    }
    samples = line_samples(parsing, tok, a.samples)
    results["line_infilling"] = {
        "one_token_per_step": infill(model, tok, samples, "fixed", a.batch_size, tokens_per_step=1),
        "draft_and_verify": infill(model, tok, samples, "draft_verify", a.batch_size),
        "samples": len(samples),
    }
    print(json.dumps(results, indent=2))
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
