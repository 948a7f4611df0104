"""A bidirectional transformer for masked-diffusion language modelling.

One module serves every family: RMSNorm, rotary position embeddings, grouped-query attention through
`scaled_dot_product_attention` with no causal mask, and a SwiGLU MLP. Module names follow the Qwen2 layout
(`model.layers.N.self_attn.q_proj`), so Dream-family and kiri checkpoints load by identity and LLaDA through one
name map in load.py.

The model knows token ids only. `forward` returns raw logits; when `config.logit_shift` is set (Dream family),
`logits[:, i]` predict token `i + 1` and the sampler aligns them.

KV cache: a finished prefix can be encoded once (`return_cache=True`) and later forwards attend to its keys and
values plus their own tokens. With bidirectional attention that is exact only while the tokens the prefix saw when
it was encoded are unchanged; the sampler decides when to refresh it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig


@dataclass
class KVCache:
    """Keys and values of an encoded prefix, one (k, v) pair per layer, each (B, n_kv_heads, P, head_dim)."""

    layers: list[tuple[torch.Tensor, torch.Tensor]]

    @property
    def length(self) -> int:
        return self.layers[0][0].shape[2] if self.layers else 0

    def select(self, index: torch.Tensor) -> KVCache:
        """The cache of a subset of the batch rows."""
        return KVCache([(k[index], v[index]) for k, v in self.layers])


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Normalise in fp32: bf16 variance loses the small activations of deep layers.
        var = x.float().pow(2).mean(-1, keepdim=True)
        return (x.float() * torch.rsqrt(var + self.eps)).to(x.dtype) * self.weight


def rope_tables(
    positions: torch.Tensor, head_dim: int, theta: float, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables for `positions` (B, T) -> each (B, 1, T, head_dim), in the halves layout of Qwen2/LLaMA."""
    inv_freq = 1.0 / (
        theta ** (torch.arange(0, head_dim, 2, device=positions.device, dtype=torch.float32) / head_dim)
    )
    freqs = positions.float()[..., None] * inv_freq  # (B, T, head_dim/2)
    emb = torch.cat([freqs, freqs], dim=-1)[:, None]  # (B, 1, T, head_dim)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_heads, self.n_kv, self.hd = cfg.num_heads, cfg.num_kv_heads, cfg.dim_per_head
        self.q_proj = nn.Linear(cfg.hidden_size, self.n_heads * self.hd, bias=cfg.qkv_bias)
        self.k_proj = nn.Linear(cfg.hidden_size, self.n_kv * self.hd, bias=cfg.qkv_bias)
        self.v_proj = nn.Linear(cfg.hidden_size, self.n_kv * self.hd, bias=cfg.qkv_bias)
        self.o_proj = nn.Linear(self.n_heads * self.hd, cfg.hidden_size, bias=False)

    def forward(
        self,
        x: torch.Tensor,  # (B, T, C)
        cos: torch.Tensor,
        sin: torch.Tensor,
        mask: torch.Tensor | None,  # (B, 1, 1 or T, P+T) bool, True = attend
        past: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_heads, self.hd).transpose(1, 2)  # (B, H, T, hd)
        k = self.k_proj(x).view(B, T, self.n_kv, self.hd).transpose(1, 2)  # (B, KV, T, hd)
        v = self.v_proj(x).view(B, T, self.n_kv, self.hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)  # (B, KV, P+T, hd)
            v = torch.cat([past[1], v], dim=2)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=False, enable_gqa=self.n_kv != self.n_heads
        )  # (B, H, T, hd)
        return self.o_proj(out.transpose(1, 2).reshape(B, T, -1)), (k, v)


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask, past):
        h, kv = self.self_attn(self.input_layernorm(x), cos, sin, mask, past)
        x = x + h
        return x + self.mlp(self.post_attention_layernorm(x)), kv


class Backbone(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.num_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class DiffusionLM(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.model = Backbone(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def init_weights(self, generator: torch.Generator | None = None) -> None:
        """Fresh weights for training: small normal init, residual projections scaled by depth (GPT-2 style).

        Embeddings get std 0.02 too: tied embeddings at nn.Embedding's N(0, 1) make the first logits ~16 wide
        and training crawls (see TRAINING-NOTES.md).
        """
        depth_scale = 1.0 / math.sqrt(2 * self.config.num_layers)
        for name, p in self.named_parameters():
            if p.dim() == 1:
                nn.init.ones_(p) if name.endswith("norm.weight") or "layernorm" in name else nn.init.zeros_(p)
                continue
            std = 0.02 * (depth_scale if name.endswith(("o_proj.weight", "down_proj.weight")) else 1.0)
            with torch.no_grad():
                p.normal_(0.0, std, generator=generator)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(
        self,
        ids: torch.Tensor,  # (B, T)
        *,
        positions: torch.Tensor | None = None,  # (B, T); default: cache length + arange(T)
        attention_mask: torch.Tensor | None = None,  # (B, P+T) or (B, T, P+T) bool, True = attend
        kv_cache: KVCache | None = None,
        return_cache: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, KVCache]:
        """Logits (B, T, V) for `ids`, attending (bidirectionally) to the cached prefix and to each other."""
        B, T = ids.shape
        past_len = kv_cache.length if kv_cache is not None else 0
        if positions is None:
            positions = torch.arange(past_len, past_len + T, device=ids.device).expand(B, T)
        x = self.model.embed_tokens(ids)  # (B, T, C)
        cos, sin = rope_tables(positions, self.config.dim_per_head, self.config.rope_theta, x.dtype)
        mask = None
        if attention_mask is not None:
            # (B, P+T): which keys are real tokens; (B, T, P+T): which keys each query may see (the sampler's
            # verification copies hide one position from one query).
            if attention_mask.shape not in ((B, past_len + T), (B, T, past_len + T)):
                raise ValueError(
                    f"attention_mask has shape {tuple(attention_mask.shape)}, expected {(B, past_len + T)}"
                    f" or {(B, T, past_len + T)}"
                )
            mask = attention_mask.to(torch.bool)
            mask = mask[:, None] if mask.dim() == 3 else mask[:, None, None, :]  # (B, 1, 1 or T, P+T)
        new_layers = []
        for i, layer in enumerate(self.model.layers):
            past = kv_cache.layers[i] if kv_cache is not None else None
            x, kv = layer(x, cos, sin, mask, past)
            if return_cache:
                new_layers.append(kv)
        logits = self.lm_head(self.model.norm(x))  # (B, T, V)
        return (logits, KVCache(new_layers)) if return_cache else logits
