"""Decoding for masked-diffusion LMs: ONE `generate()`; which tokens to commit is decided in `choose_commits()`.

The sequence is the prompt followed by mask tokens (generation) or a template with masks anywhere (infilling).
Masked columns are filled in semi-autoregressive blocks of `block_length` columns, left to right; inside a block
each forward pass proposes a token and a confidence for every open position and the commit rule decides which
become final:

- "fixed": `tokens_per_step` per pass, most confident first (tokens_per_step=1 is the LLaDA/Dream baseline);
- "threshold": every token with confidence >= `threshold`, at least one per pass (Fast-dLLM);
- "draft_verify": tokens >= `threshold` are final at once, tokens >= `draft_threshold` are placed as drafts
  (visible to the next pass, so they give each other context), and the next pass re-scores each draft with that
  position hidden (a "shadow" copy of the block, as in WINO) and re-masks drafts whose probability falls below
  `verify_threshold`. At least one token becomes final per pass, so every block ends.

KV cache (`use_cache=True`, Fast-dLLM's prefix cache): the first pass of each block runs on the whole sequence
and keeps the keys/values of the columns before the block; the block's later passes run only on the block and
what follows it, attending to those cached keys/values. The first pass of every block is therefore exact; the
later ones are an approximation, because without the cache the prefix would also attend to the tokens the block
has committed since. A block that finishes in one pass gives exactly the uncached result.

Dream-family models (`config.logit_shift`) predict token i at position i - 1; `_source_columns` is the one
place that knows it (logit alignment, cache window, shadow copies).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .model import DiffusionLM, KVCache

COMMIT_RULES = ("fixed", "threshold", "draft_verify")
CONFIDENCES = ("maxprob", "margin", "neg_entropy", "entropy")  # "entropy" is an alias of "neg_entropy"


@dataclass
class GenerateStats:
    nfe: int = 0  # forward passes
    committed: int = 0  # positions made final by the model (not counting the fill after an early stop)
    remasked: int = 0  # drafts rejected by verification
    seconds: float = 0.0

    @property
    def tokens_per_forward(self) -> float:
        return self.committed / max(self.nfe, 1)


@dataclass
class StepInfo:
    """What `on_step` receives after every forward pass."""

    step: int  # forward passes so far
    block: int  # index of the current block
    num_blocks: int
    span: tuple[int, int]  # the block's columns [start, end)
    block_done: bool  # every position of the block is final
    filled: int  # final positions so far, all rows
    total: int  # positions to fill, all rows
    ids: torch.Tensor  # (B, L) the sequence now, drafts included; do not modify
    # (n,) the confidences of the n positions this pass made final (none in the early-stop report)
    confidence: torch.Tensor


@dataclass
class Commits:
    """Decisions for one block and one pass, each (B, Lb) bool."""

    final: torch.Tensor  # the position is final after this pass (a masked one takes its candidate)
    draft: torch.Tensor  # a masked position takes its candidate as a draft
    remask: torch.Tensor  # a draft goes back to the mask


def _best(confidence: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """One-hot (B, Lb) of the most confident allowed position per row (all False where none is allowed)."""
    idx = confidence.masked_fill(~allowed, float("-inf")).argmax(dim=1, keepdim=True)
    return torch.zeros_like(allowed).scatter_(1, idx, True) & allowed


def choose_commits(
    rule: str,
    confidence: torch.Tensor,  # (B, Lb): of the candidate at masked positions, of the draft at drafted ones
    masked: torch.Tensor,  # (B, Lb) bool: still a mask token
    drafted: torch.Tensor,  # (B, Lb) bool: holds a draft awaiting verification
    *,
    threshold: float,
    verify_threshold: float,
    draft_threshold: float,
    tokens_per_step: int,
) -> Commits:
    """The commit rule: which positions become final, which are drafted, which drafts are re-masked."""
    none = torch.zeros_like(masked)
    if rule == "fixed":
        k = masked.sum(dim=1, keepdim=True).clamp(max=tokens_per_step)  # (B, 1)
        order = confidence.masked_fill(~masked, float("-inf")).argsort(dim=1, descending=True, stable=True)
        rank = torch.empty_like(order).scatter_(
            1, order, torch.arange(order.shape[1], device=order.device).expand_as(order)
        )
        return Commits(masked & (rank < k), none, none)
    best = _best(confidence, masked)
    if rule == "threshold":
        final = masked & (confidence >= threshold)
        return Commits(final | (best & ~final.any(dim=1, keepdim=True)), none, none)
    if rule != "draft_verify":
        raise ValueError(f"unknown commit rule {rule!r} (choose from {', '.join(COMMIT_RULES)})")
    verified = drafted & (confidence >= verify_threshold)
    final = verified | (masked & (confidence >= threshold))
    stuck = ~final.any(dim=1, keepdim=True)
    # Progress: the most confident masked token becomes final; with no mask left, the most confident draft.
    forced = best | (_best(confidence, drafted) & ~masked.any(dim=1, keepdim=True))
    final |= forced & stuck
    draft = masked & ~final & (confidence >= draft_threshold)
    remask = drafted & ~final
    return Commits(final, draft, remask)


def propose(
    logits: torch.Tensor,  # (B, Lb, V)
    *,
    mask_token_id: int,
    temperature: float,
    top_p: float,
    top_k: int,
    confidence: str,
    generator: torch.Generator | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Candidate tokens (B, Lb), their confidence (B, Lb), and the probabilities (B, Lb, V) they came from.

    Confidence is read from the untempered distribution (as LLaDA and Fast-dLLM do), so temperature changes
    which token is drawn, not how sure the model is. The mask token is never proposed.
    """
    banned = torch.tensor([mask_token_id], device=logits.device)
    logits = logits.float().index_fill(-1, banned, float("-inf"))  # out of place: the caller's logits stay
    probs = logits.softmax(dim=-1)  # (B, Lb, V)
    if temperature <= 0:
        tokens = probs.argmax(dim=-1)
    else:
        scaled = logits / temperature
        if top_k > 0:
            kth = scaled.topk(min(top_k, scaled.shape[-1]), dim=-1).values[..., -1:]
            scaled = scaled.masked_fill(scaled < kth, float("-inf"))
        if top_p < 1.0:
            sorted_logits, order = scaled.sort(dim=-1, descending=True)
            cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
            drop = cum - sorted_logits.softmax(dim=-1) > top_p  # keep the smallest prefix reaching top_p
            scaled = scaled.scatter(-1, order, sorted_logits.masked_fill(drop, float("-inf")))
        # Gumbel-max: argmax(logits + Gumbel noise) is a draw from softmax(logits), and on CPU it is ~20x faster
        # than torch.multinomial over a batch of rows.
        u = torch.rand(scaled.shape, generator=generator, device=scaled.device).clamp_(min=1e-10)
        tokens = (scaled - torch.log(-torch.log(u))).argmax(dim=-1)
    if confidence == "maxprob":
        conf = probs.gather(-1, tokens[..., None]).squeeze(-1)
    elif confidence == "margin":
        top2 = probs.topk(2, dim=-1).values
        conf = top2[..., 0] - top2[..., 1]
    elif confidence in ("neg_entropy", "entropy"):
        # exp(-H) lies in (0, 1] like a probability (1/k for k equally likely tokens), so one threshold scale fits.
        conf = torch.exp((probs * probs.clamp_min(1e-30).log()).sum(dim=-1))
    else:
        raise ValueError(f"unknown confidence {confidence!r} (choose from {', '.join(CONFIDENCES)})")
    return tokens, conf, probs


def _source_columns(start: int, end: int, shift: bool, device: torch.device) -> torch.Tensor:
    """Columns whose outputs predict the tokens of columns [start, end): themselves, or one to the left when
    the logits are shifted (the first column of a sequence predicts itself, as in Dream's reference sampler)."""
    cols = torch.arange(start, end, device=device)
    return (cols - 1).clamp(min=0) if shift else cols


def _shadow(
    x: torch.Tensor,  # (B, L)
    positions: torch.Tensor,  # (B, L)
    keys: torch.Tensor,  # (B, L) bool, real tokens
    start: int,
    end: int,
    window: int,
    shift: bool,
    mask_token_id: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Verification copies of the block: ids (B, Lb), positions (B, Lb), attention mask (B, L-window+Lb, L+Lb).

    Copy i predicts column start+i with that column hidden: it holds the token of its source column at the
    source's position, attends to everything but column start+i (and the source column, which it duplicates),
    and nothing attends to it. The other columns did see the draft, so a trace of it leaks (as in WINO).
    """
    B, L = x.shape
    Lb = end - start
    cols = torch.arange(start, end, device=x.device)
    src = _source_columns(start, end, shift, x.device)
    ids = x[:, src].clone()
    ids[:, src == cols] = mask_token_id  # unshifted (or column 0): the copy is the hidden column itself
    T = L - window + Lb
    mask = torch.zeros(B, T, L + Lb, dtype=torch.bool, device=x.device)
    mask[:, :, :L] = keys[:, None, :]
    rows = torch.arange(L - window, T, device=x.device)
    mask[:, rows, cols] = False
    mask[:, rows, src] = False
    mask[:, rows, L + torch.arange(Lb, device=x.device)] = True
    return ids, positions[:, src], mask


def _check_args(commit: str, confidence: str, block_length: int, tokens_per_step: int) -> None:
    if commit not in COMMIT_RULES:
        raise ValueError(f"unknown commit rule {commit!r} (choose from {', '.join(COMMIT_RULES)})")
    if confidence not in CONFIDENCES:
        raise ValueError(f"unknown confidence {confidence!r} (choose from {', '.join(CONFIDENCES)})")
    if block_length < 1 or tokens_per_step < 1:
        raise ValueError("block_length and tokens_per_step must be at least 1")


@torch.no_grad()
def generate(
    model: DiffusionLM,
    prompt_ids: torch.Tensor | list[int] | None = None,
    *,
    template: torch.Tensor | None = None,
    max_new_tokens: int | None = None,
    block_length: int = 32,
    commit: str = "threshold",
    threshold: float = 0.9,
    verify_threshold: float = 0.7,
    draft_threshold: float = 0.5,
    confidence: str = "maxprob",
    tokens_per_step: int = 1,
    temperature: float = 0.0,
    top_p: float = 1.0,
    top_k: int = 0,
    use_cache: bool = True,
    stop_at_eos: bool = True,
    attention_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    on_step: Callable[[StepInfo], None] | None = None,
) -> tuple[torch.Tensor, GenerateStats]:
    """Fill masked positions -> (ids (B, L) LongTensor with no mask left, stats).

    Either `prompt_ids` (B, P) or (P,) plus `max_new_tokens` (the result is the prompt followed by the new tokens;
    with `stop_at_eos`, once every row has produced a stop id the rest is filled with eos), or `template` (B, L)
    with `config.mask_token_id` wherever tokens are wanted (its other tokens never change).
    `attention_mask` (B, P) or (B, L): False marks left padding, which is neither attended to nor filled.
    """
    cfg = model.config
    _check_args(commit, confidence, block_length, tokens_per_step)
    device = model.lm_head.weight.device
    t0 = time.perf_counter()
    if (prompt_ids is None) == (template is None):
        raise ValueError("give either prompt_ids (with max_new_tokens) or template")
    if template is None:
        if not max_new_tokens or max_new_tokens < 1:
            raise ValueError("generation from prompt_ids needs max_new_tokens >= 1")
        prompt = torch.as_tensor(prompt_ids, dtype=torch.long, device=device)
        prompt = prompt[None] if prompt.dim() == 1 else prompt  # (B, P)
        new = torch.full(
            (prompt.shape[0], max_new_tokens), cfg.mask_token_id, dtype=torch.long, device=device
        )
        x = torch.cat([prompt, new], dim=1)  # (B, L)
        gen_start = prompt.shape[1]
    else:
        x = torch.as_tensor(template, dtype=torch.long, device=device).clone()
        x = x[None] if x.dim() == 1 else x  # (B, L)
        gen_start = None  # infilling: no tail to stop early in
    B, L = x.shape

    keys = torch.ones(B, L, dtype=torch.bool, device=device)
    if attention_mask is not None:
        am = torch.as_tensor(attention_mask, device=device).to(torch.bool)
        am = am[None] if am.dim() == 1 else am
        keys[:, : am.shape[1]] = am
    # Left padding: real tokens count positions from 0, as if the row had no padding.
    positions = (keys.long().cumsum(dim=1) - 1).clamp(min=0)  # (B, L)
    key_mask = None if keys.all() else keys  # no mask lets SDPA take its fastest path

    to_fill = (x == cfg.mask_token_id) & keys  # (B, L)
    final = ~to_fill
    drafted = torch.zeros_like(final)
    stats = GenerateStats()
    total = int(to_fill.sum())
    open_cols = to_fill.any(dim=0).nonzero().flatten().tolist()
    if not open_cols:
        stats.seconds = time.perf_counter() - t0
        return x, stats
    lo, hi = open_cols[0], open_cols[-1] + 1
    blocks = [(s, min(s + block_length, hi)) for s in range(lo, hi, block_length)]
    stop_ids = torch.tensor(cfg.stop_ids, device=device)
    mask_idx = torch.tensor([cfg.mask_token_id], device=device)
    shift = cfg.logit_shift

    for b, (s, e) in enumerate(blocks):
        src = _source_columns(s, e, shift, device)
        window = int(src[0]) if use_cache else 0  # first column the block's passes run on
        cache: KVCache | None = None
        while not final[:, s:e].all():
            shadow = bool(drafted[:, s:e].any())
            if use_cache and cache is None:
                # Opening pass of the block (no drafts yet): the whole sequence; keep the prefix's keys/values.
                # Copies, not views: a view would keep the whole sequence's keys/values alive, and under CUDA
                # graphs (reduce-overhead, max-autotune on a GPU) the next pass overwrites this one's outputs.
                logits, full = model(x, positions=positions, attention_mask=key_mask, return_cache=True)
                cache = KVCache(
                    [(k[:, :, :window].clone(), v[:, :, :window].clone()) for k, v in full.layers]
                )
                logits = logits[:, window:]
            else:
                ids, pos, mask = x[:, window:], positions[:, window:], key_mask
                if shadow:
                    sids, spos, mask = _shadow(x, positions, keys, s, e, window, shift, cfg.mask_token_id)
                    ids, pos = torch.cat([ids, sids], dim=1), torch.cat([pos, spos], dim=1)
                logits = model(ids, positions=pos, attention_mask=mask, kv_cache=cache if use_cache else None)
            stats.nfe += 1
            T = L - window
            block_logits = logits[:, src - window]  # (B, Lb, V)
            cand, conf, _ = propose(
                block_logits,
                mask_token_id=cfg.mask_token_id,
                temperature=temperature,
                top_p=top_p,
                top_k=top_k,
                confidence=confidence,
                generator=generator,
            )
            xb = x[:, s:e]
            masked, dr = ~final[:, s:e] & ~drafted[:, s:e], drafted[:, s:e]
            if shadow:
                verify = logits[:, T:].float().index_fill(-1, mask_idx, float("-inf"))
                draft_p = verify.softmax(dim=-1).gather(-1, xb[..., None]).squeeze(-1)  # (B, Lb)
                conf = torch.where(dr, draft_p, conf)
            c = choose_commits(
                commit,
                conf,
                masked,
                dr,
                threshold=threshold,
                verify_threshold=verify_threshold,
                draft_threshold=draft_threshold,
                tokens_per_step=tokens_per_step,
            )
            xb = torch.where((c.final & masked) | c.draft, cand, xb)
            x[:, s:e] = torch.where(c.remask, cfg.mask_token_id, xb)
            final[:, s:e] |= c.final
            drafted[:, s:e] = (dr | c.draft) & ~c.final & ~c.remask
            stats.committed += int(c.final.sum())
            stats.remasked += int(c.remask.sum())
            if on_step is not None:
                done = bool(final[:, s:e].all())
                filled = int((final & to_fill).sum())
                on_step(StepInfo(stats.nfe, b, len(blocks), (s, e), done, filled, total, x, conf[c.final]))
        if stop_at_eos and gen_start is not None and e < hi:
            # A row that has produced a stop id needs nothing after it: fill its open positions with eos.
            row_done = torch.isin(x[:, gen_start:e], stop_ids).any(dim=1)  # (B,)
            rest = to_fill & ~final & row_done[:, None]
            x[rest] = cfg.eos_token_id
            final |= rest
            if row_done.all():
                if on_step is not None:
                    on_step(
                        StepInfo(stats.nfe, b, len(blocks), (s, hi), True, total, total, x, conf.new_empty(0))
                    )
                break
    stats.seconds = time.perf_counter() - t0
    return x, stats
