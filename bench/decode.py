"""Decoding speed and agreement of the commit rules, with and without the KV cache, in one run.

    python bench/decode.py [--model PATH|kiri-coder] [--n-prompts 4] [--new-tokens 64] [--block 32] [--device cpu]
                           [--threads N] [--repeat 3] [--compile MODE]

For one token per step ("fixed", 1), threshold 0.9 and draft-and-verify, each with and without the prefix KV
cache: tokens/s, forward passes (NFE), tokens per forward pass, and agreement with the one-token-per-step,
uncached output (% of generated positions equal). Prompts are Python function signatures with their docstrings
from the standard library. Without --model it uses the bundled model when installed, else a tiny random model
(whose near-uniform predictions say nothing about quality: it measures the machinery only). With --compile, every
row is also run on a torch.compile'd copy of the model (a mode of local_model.compiled.COMPILE_MODES). Last, the
confidences at which one-token-per-step commits its tokens: the ceiling of any parallel rule on this model.
"""

from __future__ import annotations

import argparse
import fnmatch
import inspect
import json
import shutil
import statistics
import sys
import textwrap
import time
from pathlib import Path, PurePath

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from local_model.compiled import COMPILE_MODES, CompileError, compile_model  # noqa: E402
from local_model.config import ModelConfig  # noqa: E402
from local_model.load import BUNDLED_DIR, LoadError, load_model  # noqa: E402
from local_model.model import DiffusionLM  # noqa: E402
from local_model.sampler import generate  # noqa: E402

# Pure-Python functions whose source inspect can read (os and posixpath are frozen modules in 3.11).
SOURCES = [json.dumps, textwrap.dedent, inspect.getdoc, shutil.copyfile, fnmatch.fnmatch, textwrap.wrap]
SOURCES += [PurePath.relative_to, argparse.ArgumentParser.add_argument_group]
RUNS = [
    ("fixed, 1/step", dict(commit="fixed", tokens_per_step=1)),
    ("threshold 0.9", dict(commit="threshold", threshold=0.9)),
    ("draft-verify", dict(commit="draft_verify", threshold=0.9, draft_threshold=0.5, verify_threshold=0.7)),
]


def code_prompts(n: int) -> list[str]:
    """Signatures with docstrings: each source up to the end of its docstring."""
    prompts = []
    for fn in SOURCES[:n]:
        src = textwrap.dedent(inspect.getsource(fn))
        quote = '"""' if '"""' in src else "'''"
        first = src.find(quote)
        end = src.find(quote, first + 3) if first >= 0 else -1
        prompts.append(src[: end + 3] + "\n" if end >= 0 else src.split("\n", 1)[0] + "\n")
    return prompts


class ByteCodec:
    """Prompts as UTF-8 bytes for the tiny random model (ids 3..258; 0-2 are mask, eos, pad)."""

    def encode(self, text: str) -> list[int]:
        return [b + 3 for b in text.encode()]


def tiny_random(device: torch.device) -> tuple[DiffusionLM, ByteCodec]:
    cfg = ModelConfig(
        family="kiri", vocab_size=259, hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4,
        num_kv_heads=2, mask_token_id=0, eos_token_id=1, pad_token_id=2,
    )  # fmt: skip
    model = DiffusionLM(cfg)
    model.init_weights(torch.Generator().manual_seed(0))
    return model.to(device).eval(), ByteCodec()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--model",
        default=None,
        help="checkpoint directory or bundled name (default: kiri-coder if installed)",
    )
    ap.add_argument("--n-prompts", type=int, default=4)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--block", type=int, default=32)
    ap.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per row; the median is reported")
    ap.add_argument(
        "--compile",
        choices=COMPILE_MODES,
        default=None,
        help="also run every rule on a torch.compile'd copy of the model (compiled first, untimed)",
    )
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    name = args.model or ("kiri-coder" if (BUNDLED_DIR / "kiri-coder").is_dir() else None)
    make = (lambda: load_model(name, device=device)) if name else (lambda: tiny_random(device))
    try:
        model, tok = make()
    except LoadError as exc:
        sys.exit(f"error: {exc}")
    name = name or "tiny random (d=64, 2 layers, byte vocabulary)"
    prompts = [tok.encode(p) for p in code_prompts(args.n_prompts)]
    print(
        f"model: {name} | device: {device} | prompts: {len(prompts)} | new tokens: {args.new_tokens} | block: {args.block}"
    )
    variants = [("eager", model)]
    if args.compile:
        try:
            compiled = compile_model(make()[0], args.compile)  # a second copy: the eager rows stay eager
        except CompileError as exc:
            sys.exit(f"error: {exc}")
        t0 = time.perf_counter()
        for _, kw in RUNS:  # compile every pass shape the timed runs will meet
            for use_cache in (False, True):
                _run(compiled, prompts, args, use_cache, kw)
        print(f"compiled ({args.compile}): first runs took {time.perf_counter() - t0:.1f} s (compilation)")
        variants.append(("compiled", compiled))

    reference: list[torch.Tensor] = []
    header = f"{'rule':<15} {'model':<9} {'cache':<6} {'tok/s':>8} {'NFE':>6} {'tok/fwd':>8} {'agree %':>8}"
    print(header + "\n" + "-" * len(header))
    for label, kw in RUNS:
        for kind, m in variants:
            for use_cache in (False, True):
                outs, nfe, tokens, seconds, confs = _run(m, prompts, args, use_cache, kw)
                # Greedy decoding repeats exactly, so repeats only steady the clock: their median is reported.
                seconds = statistics.median(
                    [seconds] + [_run(m, prompts, args, use_cache, kw)[3] for _ in range(args.repeat - 1)]
                )
                if not reference:
                    reference, baseline_conf = outs, confs  # eager fixed 1/step, no cache: the baseline
                same = sum(int((a == b).sum()) for a, b in zip(outs, reference, strict=True))
                agree = 100.0 * same / sum(r.numel() for r in reference)
                print(
                    f"{label:<15} {kind:<9} {'yes' if use_cache else 'no':<6} {tokens / seconds:>8.1f} {nfe:>6} "
                    f"{tokens / nfe:>8.2f} {agree:>8.1f}"
                )
    # Why tokens per pass stay near 1 on a weak model: a parallel rule can only commit what the model is sure of.
    q = baseline_conf.quantile(torch.tensor([0.25, 0.5, 0.75, 0.9])).tolist()
    print(
        "\nconfidence of the tokens one-token-per-step commits: quartiles "
        f"{q[0]:.2f} / {q[1]:.2f} / {q[2]:.2f}, 90th percentile {q[3]:.2f}; "
        f"{100 * float((baseline_conf >= 0.9).float().mean()):.1f} % at >= 0.9, "
        f"{100 * float((baseline_conf >= 0.5).float().mean()):.1f} % at >= 0.5"
    )


def _run(
    model: DiffusionLM, prompts: list[list[int]], args: argparse.Namespace, use_cache: bool, kw: dict
) -> tuple[list[torch.Tensor], int, int, float, torch.Tensor]:
    """Generate for every prompt -> (new tokens per prompt, NFE, tokens committed, seconds, commit confidences)."""
    device = model.lm_head.weight.device
    outs, nfe, tokens, seconds, confs = [], 0, 0, 0.0, []
    for ids in prompts:
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out, stats = generate(
            model, torch.tensor([ids]), max_new_tokens=args.new_tokens, block_length=args.block,
            use_cache=use_cache, stop_at_eos=False, on_step=lambda info: confs.append(info.confidence), **kw,
        )  # fmt: skip
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds += time.perf_counter() - t0
        outs.append(out[0, len(ids) :].cpu())
        nfe, tokens = nfe + stats.nfe, tokens + stats.committed
    return outs, nfe, tokens, seconds, torch.cat(confs).float().cpu()


if __name__ == "__main__":
    main()
