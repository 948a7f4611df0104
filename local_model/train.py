"""Masked-diffusion training of kiri's own coder.

Objective (MDLM / LLaDA): sample t ~ U(eps, 1) per sequence, mask each token with probability t, and minimise the
cross-entropy on masked tokens weighted by 1/t, averaged over all token positions -- an upper bound on the negative
log-likelihood (the ELBO). t is drawn stratified across the batch (one draw per 1/B slice of [eps, 1]), which keeps
the 1/t weights from making small-batch gradients noisy.

    python -m local_model.train local_model/configs/kiri-coder.toml --data data/corpus --out runs/kiri-coder
    python -m local_model.train ... --resume            # continue from runs/kiri-coder/ckpt.pt
    python -m local_model.train export runs/kiri-coder --to local_model/weights/kiri-coder
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .config import ModelConfig
from .model import DiffusionLM
from .tokenizer import EOS, MASK, PAD, Tokenizer


@dataclass
class TrainConfig:
    name: str = "kiri-coder"
    # model
    hidden_size: int = 256
    intermediate_size: int = 704
    num_layers: int = 6
    num_heads: int = 4
    num_kv_heads: int = 4
    rope_theta: float = 10000.0
    # optimisation
    seq_len: int = 256
    batch_size: int = 8
    lr: float = 3e-3
    min_lr: float = 3e-4
    warmup_steps: int = 200
    max_steps: int = 20000
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eps: float = 1e-3
    # bookkeeping
    eval_every: int = 500
    eval_batches: int = 8
    save_every: int = 250
    log_every: int = 25
    seed: int = 0
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_toml(cls, path: Path) -> TrainConfig:
        data = tomllib.loads(path.read_text())
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{path}: unknown training settings {sorted(unknown)}")
        return cls(**data)

    def model_config(self, tok: Tokenizer) -> ModelConfig:
        ids = {name: tok.token_to_id(t) for name, t in (("mask", MASK), ("eos", EOS), ("pad", PAD))}
        return ModelConfig(
            family="kiri",
            vocab_size=tok.vocab_size,
            hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            num_kv_heads=self.num_kv_heads,
            rope_theta=self.rope_theta,
            tie_embeddings=True,
            mask_token_id=ids["mask"],
            eos_token_id=ids["eos"],
            pad_token_id=ids["pad"],
            max_position_embeddings=self.seq_len * 8,
        )


class Batches:
    """Random windows of `seq_len` tokens from a uint16 token file."""

    def __init__(self, path: Path, seq_len: int, batch_size: int, generator: torch.Generator) -> None:
        self.data = np.memmap(path, dtype=np.uint16, mode="r")
        if len(self.data) <= seq_len:
            raise ValueError(f"{path} holds {len(self.data)} tokens, fewer than one sequence of {seq_len}")
        self.seq_len, self.batch_size, self.generator = seq_len, batch_size, generator

    def next(self) -> torch.Tensor:
        starts = torch.randint(0, len(self.data) - self.seq_len, (self.batch_size,), generator=self.generator)
        rows = [np.asarray(self.data[s : s + self.seq_len], dtype=np.int64) for s in starts.tolist()]
        return torch.from_numpy(np.stack(rows))  # (B, T)


def mask_batch(
    ids: torch.Tensor, mask_id: int, eps: float, generator: torch.Generator, ratio: float | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(noisy ids, masked positions, t per row): each token masked with probability t (fixed `ratio` if given)."""
    B, T = ids.shape
    if ratio is None:
        u = (torch.rand((), generator=generator) + torch.arange(B) / B) % 1.0  # stratified over the batch
        t = eps + (1 - eps) * u  # (B,)
    else:
        t = torch.full((B,), ratio)
    masked = torch.rand((B, T), generator=generator) < t[:, None]
    return torch.where(masked, torch.full_like(ids, mask_id), ids), masked, t


def diffusion_loss(
    model: DiffusionLM, ids: torch.Tensor, masked_ids: torch.Tensor, masked: torch.Tensor, t: torch.Tensor
):
    """(ELBO loss per token, mean CE over masked tokens, masked-token accuracy)."""
    logits = model(masked_ids).float()  # (B, T, V)
    ce = F.cross_entropy(logits.transpose(1, 2), ids, reduction="none")  # (B, T)
    m = masked.float()
    elbo = (ce * m / t[:, None]).sum() / ids.numel()
    n = m.sum().clamp(min=1)
    acc = ((logits.argmax(-1) == ids).float() * m).sum() / n
    return elbo, (ce * m).sum() / n, acc


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps))
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def evaluate(
    model: DiffusionLM, val: Path, cfg: TrainConfig, device: torch.device, ratios=(0.15, 0.5, 0.9)
) -> dict:
    """Held-out ELBO (nats and bits per token) and masked-token accuracy at fixed mask ratios; same batches every time."""
    model.eval()
    g = torch.Generator().manual_seed(1234)
    batches = Batches(val, cfg.seq_len, cfg.batch_size, g)
    mask_id = model.config.mask_token_id
    elbo_sum, acc = 0.0, {r: 0.0 for r in ratios}
    for _ in range(cfg.eval_batches):
        ids = batches.next().to(device)
        noisy, masked, t = mask_batch(ids, mask_id, cfg.eps, g)
        elbo_sum += diffusion_loss(model, ids, noisy.to(device), masked.to(device), t.to(device))[0].item()
        for r in ratios:
            noisy, masked, t = mask_batch(ids, mask_id, cfg.eps, g, ratio=r)
            acc[r] += diffusion_loss(model, ids, noisy.to(device), masked.to(device), t.to(device))[2].item()
    model.train()
    elbo = elbo_sum / cfg.eval_batches
    return {
        "val_elbo_nats": elbo,
        "val_bits_per_token": elbo / math.log(2),
        **{f"val_acc@{r}": a / cfg.eval_batches for r, a in acc.items()},
    }


def train(
    cfg: TrainConfig, data: Path, out: Path, *, resume: bool, max_minutes: float | None, device: str | None
) -> dict:
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer.from_file(data / "tokenizer.json")
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = DiffusionLM(cfg.model_config(tok))
    model.init_weights(torch.Generator().manual_seed(cfg.seed))
    model.to(dev)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.95),
    )
    state = {"step": 0, "tokens": 0, "seconds": 0.0, "log": [], "evals": []}
    ckpt = out / "ckpt.pt"
    if resume and ckpt.exists():
        saved = torch.load(ckpt, map_location=dev, weights_only=False)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        gen.set_state(saved["generator"])
        state = saved["state"]
    batches = Batches(data / "train.bin", cfg.seq_len, cfg.batch_size, gen)
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if dev.type == "cuda"
        else torch.autocast("cpu", enabled=False)
    )
    (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2))
    print(
        f"model {model.num_parameters() / 1e6:.2f}M params on {dev}; starting at step {state['step']}",
        flush=True,
    )

    def save() -> None:
        tmp = out / "ckpt.pt.tmp"
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state(),
                    "state": state, "config": asdict(cfg)}, tmp)  # fmt: skip
        tmp.replace(ckpt)  # atomic: a kill mid-save leaves the previous checkpoint whole

    started, window_t, window_tokens = time.time(), time.time(), 0
    model.train()
    report = Reporter(cfg.max_steps, state["step"])
    while state["step"] < cfg.max_steps:
        if max_minutes is not None and time.time() - started > max_minutes * 60:
            break
        step = state["step"]
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        ids = batches.next()
        noisy, masked, t = mask_batch(ids, model.config.mask_token_id, cfg.eps, gen)
        with autocast:
            loss, ce, acc = diffusion_loss(model, ids.to(dev), noisy.to(dev), masked.to(dev), t.to(dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        state["step"] += 1
        state["tokens"] += ids.numel()
        window_tokens += ids.numel()
        if state["step"] % cfg.log_every == 0:
            now = time.time()
            state["seconds"] += now - window_t
            rate = window_tokens / (now - window_t)
            entry = {"step": state["step"], "tokens": state["tokens"], "loss": loss.item(), "masked_ce": ce.item(),
                     "acc": acc.item(), "lr": lr_at(step, cfg), "tok_per_s": rate}  # fmt: skip
            state["log"].append(entry)
            report.step(entry)
            window_t, window_tokens = now, 0
        if state["step"] % cfg.eval_every == 0:
            ev = {
                "step": state["step"],
                "tokens": state["tokens"],
                **evaluate(model, data / "val.bin", cfg, dev),
            }
            state["evals"].append(ev)
            report.line("eval " + " ".join(f"{k} {v:.4g}" for k, v in ev.items()))
        if state["step"] % cfg.save_every == 0:
            save()
    report.close()
    ev = {"step": state["step"], "tokens": state["tokens"], **evaluate(model, data / "val.bin", cfg, dev)}
    state["evals"].append(ev)
    print("final eval " + " ".join(f"{k} {v:.4g}" for k, v in ev.items()), flush=True)
    save()
    plot(state, out / "loss.png")
    return state


class Reporter:
    """A progress bar with loss and tokens/s on a terminal; one log line per report otherwise (logs, CI)."""

    def __init__(self, total: int, done: int) -> None:
        self.bar = None
        if sys.stdout.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("training"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[stats]}"),
                TimeRemainingColumn(),
            )  # fmt: skip
            self.task = self.bar.add_task("train", total=total, completed=done, stats="")
            self.bar.start()

    def step(self, e: dict) -> None:
        stats = f"loss {e['loss']:.3f} acc {e['acc']:.3f} {e['tok_per_s']:,.0f} tok/s {e['tokens'] / 1e6:.2f}M tok"
        if self.bar is not None:
            self.bar.update(self.task, completed=e["step"], stats=stats)
        else:
            print(f"step {e['step']:>6} {stats} masked-ce {e['masked_ce']:.3f} lr {e['lr']:.2e}", flush=True)

    def line(self, text: str) -> None:
        (self.bar.console.print if self.bar is not None else print)(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def plot(state: dict, path: Path) -> None:
    """Training and held-out loss against tokens seen."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install 'kiri-agent[train]'): no loss plot", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    if state["log"]:
        ax.plot(
            [e["tokens"] / 1e6 for e in state["log"]],
            [e["loss"] for e in state["log"]],
            label="train ELBO",
            lw=0.8,
        )
        ax.plot([e["tokens"] / 1e6 for e in state["log"]], [e["masked_ce"] for e in state["log"]], label="train masked CE", lw=0.8)  # fmt: skip
    if state["evals"]:
        ax.plot([e["tokens"] / 1e6 for e in state["evals"]], [e["val_elbo_nats"] for e in state["evals"]], "o-", label="held-out ELBO")  # fmt: skip
    ax.set_xlabel("training tokens (M)")
    ax.set_ylabel("nats per token")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def export(run: Path, to: Path, data: Path) -> None:
    """Write the run's weights in kiri's checkpoint layout (config.json, model.safetensors, tokenizer.json)."""
    from .load import save_model

    saved = torch.load(run / "ckpt.pt", map_location="cpu", weights_only=False)
    cfg = TrainConfig(**saved["config"])
    tok = Tokenizer.from_file(data / "tokenizer.json")
    model = DiffusionLM(cfg.model_config(tok))
    model.load_state_dict(saved["model"])
    save_model(model, tok, to)
    (to / "training.json").write_text(json.dumps({"state": {k: v for k, v in saved["state"].items() if k != "log"},
                                                  "config": saved["config"]}, indent=2))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "export":
        p = argparse.ArgumentParser(prog="python -m local_model.train export")
        p.add_argument("run", type=Path)
        p.add_argument("--to", type=Path, required=True)
        p.add_argument("--data", type=Path, default=Path("data/corpus"))
        a = p.parse_args(argv[1:])
        export(a.run, a.to, a.data)
        return 0
    p = argparse.ArgumentParser(
        prog="python -m local_model.train", description="Train a masked-diffusion coder."
    )
    p.add_argument("config", type=Path, help="TOML file of TrainConfig fields")
    p.add_argument(
        "--data", type=Path, default=Path("data/corpus"), help="output of python -m local_model.data"
    )
    p.add_argument("--out", type=Path, default=None, help="run directory (default runs/<name>)")
    p.add_argument("--resume", action="store_true", help="continue from the run directory's ckpt.pt")
    p.add_argument(
        "--max-minutes", type=float, default=None, help="stop (and save) after this much wall time"
    )
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--device", default=None)
    a = p.parse_args(argv)
    cfg = TrainConfig.from_toml(a.config)
    if a.max_steps is not None:
        cfg.max_steps = a.max_steps
    train(
        cfg,
        a.data,
        a.out or Path("runs") / cfg.name,
        resume=a.resume,
        max_minutes=a.max_minutes,
        device=a.device,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
