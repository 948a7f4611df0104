"""Model configuration: one dataclass for every family the engine runs.

The families differ in layout and conventions, not in the maths: Dream-family checkpoints (Dream, Dream-Coder,
DiffuCoder, Open-dCoder) are Qwen2-shaped with q/k/v biases and logits shifted by one; LLaDA is LLaMA-shaped with
no biases and unshifted logits; kiri's own model uses the Qwen2 key names without biases and without a shift.
Special token ids always come from the checkpoint's config, never from constants in the code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

FAMILIES = ("dream", "llada", "kiri")


class ConfigError(ValueError):
    """A config.json the engine cannot express; the message names the field."""


@dataclass(frozen=True)
class ModelConfig:
    family: str
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    mask_token_id: int
    eos_token_id: int
    pad_token_id: int
    bos_token_id: int | None = None
    head_dim: int | None = None  # None: hidden_size // num_heads
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-6
    qkv_bias: bool = False
    tie_embeddings: bool = False
    logit_shift: bool = False  # True: logits[:, i] predict token i + 1 (Dream family)
    max_position_embeddings: int = 4096
    extra_eos_ids: tuple[int, ...] = ()  # e.g. LLaDA's <|eot_id|>, Qwen's <|im_end|>: the loader reads them
    # from the tokenizer, since the families' config.json files do not name them

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ConfigError(f"unknown model family {self.family!r} (known: {', '.join(FAMILIES)})")
        if self.num_heads % self.num_kv_heads:
            raise ConfigError(
                f"num_heads={self.num_heads} is not a multiple of num_kv_heads={self.num_kv_heads}"
            )
        if self.head_dim is None and self.hidden_size % self.num_heads:
            raise ConfigError(
                f"hidden_size={self.hidden_size} is not a multiple of num_heads={self.num_heads}"
            )
        for name in ("mask_token_id", "eos_token_id", "pad_token_id"):
            value = getattr(self, name)
            if not 0 <= value < self.vocab_size:
                raise ConfigError(f"{name}={value} lies outside the vocabulary (size {self.vocab_size})")

    @property
    def dim_per_head(self) -> int:
        return self.head_dim or self.hidden_size // self.num_heads

    @property
    def stop_ids(self) -> tuple[int, ...]:
        """Token ids that end a generation."""
        return (self.eos_token_id, *self.extra_eos_ids)

    def to_dict(self) -> dict[str, Any]:
        """The config.json of kiri's own checkpoints (family 'kiri')."""
        data = dataclasses.asdict(self)
        data["extra_eos_ids"] = list(self.extra_eos_ids)
        return {"model_type": "kiri", **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Build from a Hugging Face-style config.json of any supported family."""
        family = detect_family(data)
        try:
            if family == "kiri":
                fields = {f.name for f in dataclasses.fields(cls)}
                kwargs = {k: v for k, v in data.items() if k in fields}
                kwargs["extra_eos_ids"] = tuple(kwargs.get("extra_eos_ids", ()))
                return cls(**kwargs)
            if family == "dream":
                return _dream(data)
            return _llada(data)
        except KeyError as missing:
            raise ConfigError(
                f"config.json of a {family} model lacks the field {missing.args[0]!r}"
            ) from None


def detect_family(data: dict[str, Any]) -> str:
    """Name the family of a config.json, or raise ConfigError."""
    model_type = str(data.get("model_type", "")).lower()
    architectures = [str(a).lower() for a in data.get("architectures") or []]
    if model_type == "kiri" or data.get("family") == "kiri":
        return "kiri"
    if model_type in ("dream", "qwen2") or any("dream" in a for a in architectures):
        return "dream"
    if model_type == "llada" or any("llada" in a for a in architectures) or "d_model" in data:
        return "llada"
    raise ConfigError(
        f"unknown model family (model_type={data.get('model_type')!r}, architectures={data.get('architectures')!r});"
        " kiri runs Dream-family, LLaDA and its own checkpoints"
    )


def _dream(d: dict[str, Any]) -> ModelConfig:
    eos = d["eos_token_id"]
    return ModelConfig(
        family="dream",
        vocab_size=d["vocab_size"],
        hidden_size=d["hidden_size"],
        intermediate_size=d["intermediate_size"],
        num_layers=d["num_hidden_layers"],
        num_heads=d["num_attention_heads"],
        num_kv_heads=d.get("num_key_value_heads", d["num_attention_heads"]),
        head_dim=d.get("head_dim"),
        rope_theta=float(d.get("rope_theta", 10000.0)),
        rms_norm_eps=float(d.get("rms_norm_eps", 1e-6)),
        qkv_bias=True,
        tie_embeddings=bool(d.get("tie_word_embeddings", False)),
        logit_shift=True,
        mask_token_id=d["mask_token_id"],
        eos_token_id=eos,
        pad_token_id=d.get("pad_token_id", eos),
        bos_token_id=d.get("bos_token_id"),
        max_position_embeddings=d.get("max_position_embeddings", 32768),
    )


def _llada(d: dict[str, Any]) -> ModelConfig:
    if d.get("include_bias"):
        raise ConfigError("LLaDA config with include_bias=true is not a layout kiri knows")
    if d.get("block_type", "llama") != "llama":
        raise ConfigError(f"LLaDA block_type {d.get('block_type')!r} is not supported (only 'llama')")
    eos = d["eos_token_id"]
    n_heads = d["n_heads"]
    return ModelConfig(
        family="llada",
        vocab_size=d.get("embedding_size") or d["vocab_size"],
        hidden_size=d["d_model"],
        intermediate_size=d.get("mlp_hidden_size") or d["d_model"] * d.get("mlp_ratio", 4),
        num_layers=d["n_layers"],
        num_heads=n_heads,
        num_kv_heads=d.get("n_kv_heads") or n_heads,
        rope_theta=float(d.get("rope_theta", 10000.0)),
        rms_norm_eps=float(d.get("rms_norm_eps", 1e-5)),
        qkv_bias=False,
        tie_embeddings=bool(d.get("weight_tying", False)),
        logit_shift=False,
        mask_token_id=d["mask_token_id"],
        eos_token_id=eos,
        pad_token_id=d.get("pad_token_id", eos),
        bos_token_id=d.get("bos_token_id"),
        max_position_embeddings=d.get("max_sequence_length", 4096),
    )
