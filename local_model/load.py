"""Load Hugging Face-style checkpoint directories (Dream family, LLaDA, kiri) into a `DiffusionLM`.

A checkpoint is a directory with `config.json`, `tokenizer.json` and the weights, either one `model.safetensors`
or shards listed by `model.safetensors.index.json`. The model is built on the meta device, the file's names are
mapped to ours through ONE name map per family, everything is checked (every key used, every expected key
present, every shape equal) and only then loaded with `load_state_dict(strict=True, assign=True)`, so a bad
checkpoint fails with one `LoadError` naming the file and the first mismatch instead of a half-loaded model.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .compiled import CompileError, compile_model
from .config import ConfigError, ModelConfig
from .model import DiffusionLM
from .tokenizer import Tokenizer, TokenizerError

BUNDLED_DIR = Path(__file__).parent / "weights"
SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"


class LoadError(ValueError):
    """A checkpoint that cannot be loaded; the message names the path and the first problem."""


# ---------------------------------------------------------------------------------------------------------------
# Name maps: file key -> our key (Qwen2 module names), None for a key we do not know.


def _identity(key: str) -> str | None:
    return key


_LLADA_BLOCK = re.compile(r"model\.transformer\.blocks\.(\d+)\.(\w+)\.weight")
_LLADA_BLOCK_PARTS = {
    "q_proj": "self_attn.q_proj",
    "k_proj": "self_attn.k_proj",
    "v_proj": "self_attn.v_proj",
    "attn_out": "self_attn.o_proj",
    "ff_proj": "mlp.gate_proj",  # LLaDA's ff_proj is the SiLU gate ...
    "up_proj": "mlp.up_proj",  # ... and up_proj the linear branch
    "ff_out": "mlp.down_proj",
    "attn_norm": "input_layernorm",
    "ff_norm": "post_attention_layernorm",
}
_LLADA_TOP = {
    "model.transformer.wte.weight": "model.embed_tokens.weight",
    "model.transformer.ln_f.weight": "model.norm.weight",
    "model.transformer.ff_out.weight": "lm_head.weight",
}


def _llada(key: str) -> str | None:
    if key in _LLADA_TOP:
        return _LLADA_TOP[key]
    m = _LLADA_BLOCK.fullmatch(key)
    if m and m.group(2) in _LLADA_BLOCK_PARTS:
        return f"model.layers.{m.group(1)}.{_LLADA_BLOCK_PARTS[m.group(2)]}.weight"
    return None


NAME_MAPS: dict[str, Callable[[str], str | None]] = {"dream": _identity, "kiri": _identity, "llada": _llada}


# ---------------------------------------------------------------------------------------------------------------
# Finding the directory.


def _hf_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    return home / "hub"


def _from_hf_cache(name: str) -> Path | None:
    """The snapshot of hub model `org/name` in the local cache (the one refs/main points at, else the newest)."""
    repo = _hf_cache_dir() / ("models--" + name.replace("/", "--"))
    ref = repo / "refs" / "main"
    if ref.is_file():
        snap = repo / "snapshots" / ref.read_text().strip()
        if snap.is_dir():
            return snap
    snaps = sorted((repo / "snapshots").glob("*/"), key=lambda p: p.stat().st_mtime) if repo.is_dir() else []
    return snaps[-1] if snaps else None


def resolve_checkpoint(path_or_name: str | Path, *, allow_download: bool = False) -> Path:
    """A checkpoint directory from a path, a bundled model name, or a Hugging Face hub name (local cache first)."""
    text = str(path_or_name)
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    bundled = BUNDLED_DIR / text
    if "/" not in text and bundled.is_dir():
        return bundled
    if re.fullmatch(r"[\w.-]+/[\w.-]+", text) and not path.exists():
        cached = _from_hf_cache(text)
        if cached is not None:
            return cached
        if allow_download:
            from huggingface_hub import snapshot_download  # only for users who asked to download

            return Path(snapshot_download(text, allow_patterns=["*.json", "*.safetensors"]))
        raise LoadError(
            f"model {text!r} is not in the local Hugging Face cache ({_hf_cache_dir()}); "
            "download it first or pass allow_download=True"
        )
    names = sorted(p.name for p in BUNDLED_DIR.glob("*/")) if BUNDLED_DIR.is_dir() else []
    raise LoadError(
        f"no checkpoint at {text!r}: not a directory, not a bundled model "
        f"({', '.join(names) or 'none installed'}), not a hub name org/name"
    )


# ---------------------------------------------------------------------------------------------------------------
# Reading the weights.


def _weight_files(ckpt: Path) -> list[Path]:
    index = ckpt / INDEX_FILE
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text())["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise LoadError(f"{index}: not a safetensors index ({exc})") from None
        files = [ckpt / name for name in dict.fromkeys(weight_map.values())]
        for f in files:
            if not f.is_file():
                raise LoadError(f"{f}: shard listed in {INDEX_FILE} is missing")
        return files
    single = ckpt / SINGLE_FILE
    if single.is_file():
        return [single]
    raise LoadError(f"{ckpt}: no {SINGLE_FILE} or {INDEX_FILE}")


def _iter_tensors(files: list[Path]) -> Iterator[tuple[Path, str, torch.Tensor]]:
    for f in files:
        try:
            with safe_open(str(f), framework="pt", device="cpu") as fh:
                for key in fh.keys():
                    yield f, key, fh.get_tensor(key)
        except (SafetensorError, OSError) as exc:
            raise LoadError(f"{f}: cannot read safetensors file ({exc})") from None


def read_state_dict(
    ckpt: Path, config: ModelConfig, expected: dict[str, torch.Size]
) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors under our names, checked against `expected` (our key -> shape) before use."""
    name_map = NAME_MAPS[config.family]
    state: dict[str, torch.Tensor] = {}
    for f, key, tensor in _iter_tensors(_weight_files(ckpt)):
        ours = name_map(key)
        if ours is None or (
            ours not in expected and not (config.tie_embeddings and ours == "lm_head.weight")
        ):
            raise LoadError(f"{f}: unexpected weight {key!r} for a {config.family} model")
        if ours == "lm_head.weight" and config.tie_embeddings:
            continue  # some tied checkpoints store the head too; the embedding is the one we use
        if tuple(tensor.shape) != tuple(expected[ours]):
            raise LoadError(
                f"{f}: weight {key!r} has shape {tuple(tensor.shape)}, config.json implies {tuple(expected[ours])}"
            )
        if ours in state:
            raise LoadError(f"{f}: weight {key!r} appears twice")
        state[ours] = tensor
    missing = [k for k in expected if k not in state]
    if missing:
        raise LoadError(f"{ckpt}: missing weight {missing[0]!r} ({len(missing)} missing in all)")
    return state


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_model(
    path_or_name: str | Path,
    *,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    allow_download: bool = False,
    compile_mode: str | None = None,
) -> tuple[DiffusionLM, Tokenizer]:
    """Load a checkpoint directory, bundled model name or cached hub name -> (model in eval mode, tokenizer).

    device: default CUDA when available, else CPU; dtype: default bf16 on CUDA, fp32 elsewhere.
    compile_mode: None or "off" runs eager; a mode of `compiled.COMPILE_MODES` compiles the forward pass.
    Raises LoadError naming the path and the first problem.
    """
    ckpt = resolve_checkpoint(path_or_name, allow_download=allow_download)
    config_path = ckpt / "config.json"
    try:
        config = ModelConfig.from_dict(json.loads(config_path.read_text()))
    except FileNotFoundError:
        raise LoadError(f"{config_path}: missing") from None
    except (json.JSONDecodeError, ConfigError) as exc:
        raise LoadError(f"{config_path}: {exc}") from None
    try:
        tokenizer = Tokenizer.from_file(ckpt / "tokenizer.json")
    except TokenizerError as exc:
        raise LoadError(str(exc)) from None
    turn_ends = tuple(i for i in tokenizer.turn_end_ids() if i < config.vocab_size)
    extra = tuple(dict.fromkeys((*config.extra_eos_ids, *turn_ends)))
    config = dataclasses.replace(config, extra_eos_ids=tuple(i for i in extra if i != config.eos_token_id))

    device = torch.device(device) if device is not None else default_device()
    dtype = dtype or (torch.bfloat16 if device.type == "cuda" else torch.float32)
    with torch.device("meta"):
        model = DiffusionLM(config)
    expected = {k: v.shape for k, v in model.state_dict().items()}
    if config.tie_embeddings:
        expected.pop("lm_head.weight")
    state = read_state_dict(ckpt, config, expected)
    state = {k: v.to(device=device, dtype=dtype) for k, v in state.items()}
    if config.tie_embeddings:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    model.load_state_dict(state, strict=True, assign=True)
    if config.tie_embeddings:
        # assign=True wraps each tensor in its own Parameter; tie again so training updates one weight.
        model.lm_head.weight = model.model.embed_tokens.weight
    model.eval()
    if compile_mode not in (None, "off"):
        try:
            compile_model(model, compile_mode)
        except CompileError as exc:
            raise LoadError(str(exc)) from None
    return model, tokenizer


def save_model(model: DiffusionLM, tokenizer: Tokenizer, out_dir: str | Path) -> Path:
    """Write kiri's layout: config.json, model.safetensors (tied weights once), tokenizer.json."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = dataclasses.replace(model.config, family="kiri")
    (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if model.config.tie_embeddings:
        state.pop("lm_head.weight")
    save_file(state, str(out / SINGLE_FILE), metadata={"format": "pt"})
    tokenizer.inner.save(str(out / "tokenizer.json"))
    return out
