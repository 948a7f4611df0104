"""Tiny checkpoints in each family's real layout (shared by the local_model tests), and model-level checks.

The reference forward below is written from the checkpoint's own key names with plain tensor maths, independent
of local_model.model, so a wrong name map (say, LLaDA's gate and up projections swapped) changes the logits.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

from local_model.config import ModelConfig
from local_model.model import DiffusionLM, KVCache
from local_model.tokenizer import Tokenizer

D, FFN, LAYERS, HEADS, KV_HEADS, VOCAB = 32, 64, 2, 4, 2, 320
SPECIALS = {
    "dream": ["<|endoftext|>", "<|mask|>", "<|im_start|>", "<|im_end|>"],
    "kiri": ["<|mask|>", "<|endoftext|>", "<|pad|>", "<|im_start|>", "<|im_end|>"],
    "llada": [
        "<|endoftext|>",
        "<|startoftext|>",
        "<|mdm_mask|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eot_id|>",
    ],
}
CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "class Stack:\n    def push(self, x):\n        self.items.append(x)\n",
] * 20


def make_tokenizer(family: str) -> Tokenizer:
    """A byte-level BPE with the family's special tokens, trained in memory."""
    tok = HFTokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=SPECIALS[family],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer)
    return Tokenizer(tok)


def config_json(family: str, tok: Tokenizer, *, tied: bool = False) -> dict:
    """config.json with the family's real field names."""
    if family == "dream":
        eos = tok.token_to_id("<|endoftext|>")
        return {
            "architectures": ["DreamModel"],
            "model_type": "Dream",
            "hidden_size": D,
            "intermediate_size": FFN,
            "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS,
            "num_key_value_heads": KV_HEADS,
            "rope_theta": 1000000.0,
            "rms_norm_eps": 1e-6,
            "vocab_size": VOCAB,
            "tie_word_embeddings": tied,
            "mask_token_id": tok.token_to_id("<|mask|>"),
            "bos_token_id": eos,
            "eos_token_id": eos,
            "pad_token_id": eos,
            "max_position_embeddings": 512,
            "torch_dtype": "bfloat16",
        }
    if family == "llada":
        eos = tok.token_to_id("<|endoftext|>")
        return {
            "architectures": ["LLaDAModelLM"],
            "model_type": "llada",
            "d_model": D,
            "n_layers": LAYERS,
            "n_heads": HEADS,
            "n_kv_heads": HEADS,
            "mlp_hidden_size": FFN,
            "vocab_size": VOCAB,
            "embedding_size": VOCAB,
            "rope_theta": 500000.0,
            "rms_norm_eps": 1e-5,
            "include_bias": False,
            "weight_tying": tied,
            "block_type": "llama",
            "mask_token_id": tok.token_to_id("<|mdm_mask|>"),
            "eos_token_id": eos,
            "pad_token_id": eos,
            "max_sequence_length": 512,
        }
    raise ValueError(family)


def real_state(family: str, *, tied: bool = False, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights under the family's real key names."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * (0.3 if len(shape) == 2 else 0.1) + (len(shape) == 1)

    hd = D // HEADS
    kv = KV_HEADS if family == "dream" else HEADS
    sd: dict[str, torch.Tensor] = {}
    if family == "dream":
        sd["model.embed_tokens.weight"] = r(VOCAB, D)
        sd["model.norm.weight"] = r(D)
        if not tied:
            sd["lm_head.weight"] = r(VOCAB, D)
        for i in range(LAYERS):
            p = f"model.layers.{i}."
            for n, out in (("q", HEADS * hd), ("k", kv * hd), ("v", kv * hd)):
                sd[p + f"self_attn.{n}_proj.weight"] = r(out, D)
                sd[p + f"self_attn.{n}_proj.bias"] = r(out) - 1
            sd[p + "self_attn.o_proj.weight"] = r(D, HEADS * hd)
            sd[p + "mlp.gate_proj.weight"] = r(FFN, D)
            sd[p + "mlp.up_proj.weight"] = r(FFN, D)
            sd[p + "mlp.down_proj.weight"] = r(D, FFN)
            sd[p + "input_layernorm.weight"] = r(D)
            sd[p + "post_attention_layernorm.weight"] = r(D)
        return sd
    sd["model.transformer.wte.weight"] = r(VOCAB, D)
    sd["model.transformer.ln_f.weight"] = r(D)
    if not tied:
        sd["model.transformer.ff_out.weight"] = r(VOCAB, D)
    for i in range(LAYERS):
        p = f"model.transformer.blocks.{i}."
        for n in ("q_proj", "k_proj", "v_proj", "attn_out"):
            sd[p + n + ".weight"] = r(D, D)
        sd[p + "ff_proj.weight"] = r(FFN, D)
        sd[p + "up_proj.weight"] = r(FFN, D)
        sd[p + "ff_out.weight"] = r(D, FFN)
        sd[p + "attn_norm.weight"] = r(D)
        sd[p + "ff_norm.weight"] = r(D)
    return sd


def write_checkpoint(
    out: Path, family: str, *, tied: bool = False, shards: int = 1, seed: int = 0
) -> tuple[Path, dict[str, torch.Tensor]]:
    """A checkpoint directory in the family's real layout; returns it and the weights written."""
    out.mkdir(parents=True, exist_ok=True)
    tok = make_tokenizer(family)
    tok.inner.save(str(out / "tokenizer.json"))
    (out / "config.json").write_text(json.dumps(config_json(family, tok, tied=tied)))
    sd = real_state(family, tied=tied, seed=seed)
    if shards == 1:
        save_file(sd, str(out / "model.safetensors"), metadata={"format": "pt"})
        return out, sd
    keys = list(sd)
    weight_map = {}
    for n in range(shards):
        name = f"model-{n + 1:05d}-of-{shards:05d}.safetensors"
        part = {k: sd[k] for k in keys[n::shards]}
        save_file(part, str(out / name), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(part, name))
    index = {"metadata": {"total_size": sum(t.numel() * 4 for t in sd.values())}, "weight_map": weight_map}
    (out / "model.safetensors.index.json").write_text(json.dumps(index))
    return out, sd


def reference_logits(family: str, sd: dict[str, torch.Tensor], ids: torch.Tensor, cfg: dict) -> torch.Tensor:
    """Raw logits (B, T, V) computed straight from the checkpoint's key names (no local_model code)."""
    if family == "dream":
        emb, final, head = "model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"
        names = {
            "q": "self_attn.q_proj", "k": "self_attn.k_proj", "v": "self_attn.v_proj", "o": "self_attn.o_proj",
            "gate": "mlp.gate_proj", "up": "mlp.up_proj", "down": "mlp.down_proj",
            "ln1": "input_layernorm", "ln2": "post_attention_layernorm",
        }  # fmt: skip
        prefix, theta, eps, kv = "model.layers.{}.", cfg["rope_theta"], cfg["rms_norm_eps"], KV_HEADS
        tied = cfg["tie_word_embeddings"]
    else:
        emb, final, head = (
            "model.transformer.wte.weight",
            "model.transformer.ln_f.weight",
            "model.transformer.ff_out.weight",
        )
        names = {
            "q": "q_proj", "k": "k_proj", "v": "v_proj", "o": "attn_out", "gate": "ff_proj", "up": "up_proj",
            "down": "ff_out", "ln1": "attn_norm", "ln2": "ff_norm",
        }  # fmt: skip
        prefix, theta, eps, kv = "model.transformer.blocks.{}.", cfg["rope_theta"], cfg["rms_norm_eps"], HEADS
        tied = cfg["weight_tying"]

    def norm(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w

    def lin(x: torch.Tensor, layer: int, role: str) -> torch.Tensor:
        key = prefix.format(layer) + names[role]
        y = x @ sd[key + ".weight"].T
        return y + sd[key + ".bias"] if key + ".bias" in sd else y

    B, T = ids.shape
    hd = D // HEADS
    pos = torch.arange(T, dtype=torch.float64)
    ang = pos[:, None] * theta ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)  # (T, hd/2)
    cos, sin = ang.cos().float(), ang.sin().float()

    def rope(t: torch.Tensor) -> torch.Tensor:  # (B, H, T, hd), rotate-half layout
        a, b = t[..., : hd // 2], t[..., hd // 2 :]
        return torch.cat([a * cos - b * sin, b * cos + a * sin], dim=-1)

    x = sd[emb][ids]
    for i in range(LAYERS):
        h = norm(x, sd[prefix.format(i) + names["ln1"] + ".weight"])
        q = rope(lin(h, i, "q").view(B, T, HEADS, hd).transpose(1, 2))
        k = rope(lin(h, i, "k").view(B, T, kv, hd).transpose(1, 2)).repeat_interleave(HEADS // kv, dim=1)
        v = lin(h, i, "v").view(B, T, kv, hd).transpose(1, 2).repeat_interleave(HEADS // kv, dim=1)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1)  # no causal mask
        x = x + lin((att @ v).transpose(1, 2).reshape(B, T, D), i, "o")
        h = norm(x, sd[prefix.format(i) + names["ln2"] + ".weight"])
        x = x + lin(torch.nn.functional.silu(lin(h, i, "gate")) * lin(h, i, "up"), i, "down")
    return norm(x, sd[final]) @ (sd[emb] if tied else sd[head]).T


def tiny_model(*, shift: bool = False, seed: int = 0, scale: float = 20.0, vocab: int = 64) -> DiffusionLM:
    """A random kiri-family model; `scale` sharpens its distributions so confidences spread out."""
    cfg = ModelConfig(
        family="kiri", vocab_size=vocab, hidden_size=D, intermediate_size=FFN, num_layers=LAYERS, num_heads=HEADS,
        num_kv_heads=KV_HEADS, mask_token_id=0, eos_token_id=1, pad_token_id=2, logit_shift=shift,
    )  # fmt: skip
    model = DiffusionLM(cfg)
    model.init_weights(torch.Generator().manual_seed(seed))
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(scale)
    return model.eval()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run ~40x faster on one thread than on two cores shared with other work; restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ------------------------------------------------------------------------------------------- model-level tests


def test_cache_of_the_same_sequence_gives_the_full_forward_logits() -> None:
    model = tiny_model()
    x = torch.randint(3, 64, (2, 24), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full, cache = model(x, return_cache=True)
        prefix = KVCache([(k[:, :, :10], v[:, :, :10]) for k, v in cache.layers])
        tail = model(x[:, 10:], kv_cache=prefix)
    assert prefix.length == 10
    torch.testing.assert_close(tail, full[:, 10:], atol=1e-5, rtol=1e-4)


def test_per_query_mask_hides_a_key_from_one_query_only() -> None:
    model = tiny_model()
    x = torch.randint(3, 64, (1, 8), generator=torch.Generator().manual_seed(2))
    mask = torch.ones(1, 8, 8, dtype=torch.bool)
    mask[0, 3, 5] = False  # query 3 cannot see key 5
    with torch.no_grad():
        plain, masked = model(x), model(x, attention_mask=mask)
        see_all = model(x, attention_mask=torch.ones(1, 8, 8, dtype=torch.bool))
    torch.testing.assert_close(see_all, plain)
    assert not torch.allclose(plain[0, 3], masked[0, 3])
