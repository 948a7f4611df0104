"""load.py on checkpoints written in each family's real layout and key names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from local_model.load import LoadError, load_model, resolve_checkpoint, save_model
from tests.local_model.test_model import (
    config_json,
    make_tokenizer,
    one_thread,  # noqa: F401  (autouse fixture: applies to this module)
    reference_logits,
    tiny_model,
    write_checkpoint,
)

IDS = torch.tensor([[5, 17, 42, 99, 3, 250, 7, 8], [9, 9, 100, 200, 300, 1, 2, 3]])


@pytest.mark.parametrize(
    ("family", "tied", "shards"),
    [("dream", False, 1), ("dream", True, 2), ("llada", False, 1), ("llada", False, 3)],
)
def test_loaded_model_reproduces_reference_logits(
    tmp_path: Path, family: str, tied: bool, shards: int
) -> None:
    ckpt, sd = write_checkpoint(tmp_path / family, family, tied=tied, shards=shards)
    model, tok = load_model(ckpt, device="cpu")
    cfg = json.loads((ckpt / "config.json").read_text())
    with torch.no_grad():
        got = model(IDS)
    torch.testing.assert_close(got, reference_logits(family, sd, IDS, cfg), atol=2e-4, rtol=2e-4)
    assert model.config.family == family
    assert model.config.logit_shift is (family == "dream")
    assert model.config.qkv_bias is (family == "dream")
    assert model.config.mask_token_id == cfg["mask_token_id"]
    # Turn-end tokens found in the tokenizer stop generation too.
    turn_end = tok.token_to_id("<|im_end|>" if family == "dream" else "<|eot_id|>")
    assert turn_end in model.config.stop_ids
    assert next(model.parameters()).dtype == torch.float32
    if tied:
        assert model.lm_head.weight is model.model.embed_tokens.weight


def test_kiri_save_and_load_round_trip_with_tied_weights(tmp_path: Path) -> None:
    import dataclasses

    source = tiny_model(vocab=320)
    source.config = dataclasses.replace(source.config, tie_embeddings=True, extra_eos_ids=(4,))
    source.lm_head.weight = source.model.embed_tokens.weight
    out = save_model(source, make_tokenizer("kiri"), tmp_path / "kiri")
    from safetensors import safe_open

    with safe_open(str(out / "model.safetensors"), "pt") as fh:
        assert "lm_head.weight" not in fh.keys()  # tied weights are stored once
    model, tok = load_model(out, device="cpu", dtype=torch.float64)
    assert model.config.family == "kiri" and model.config.tie_embeddings
    assert model.lm_head.weight is model.model.embed_tokens.weight
    assert model.lm_head.weight.dtype == torch.float64
    assert 4 in model.config.stop_ids and tok.token_to_id("<|im_end|>") in model.config.stop_ids
    with torch.no_grad():
        torch.testing.assert_close(model(IDS).float(), source(IDS), atol=1e-4, rtol=1e-4)


def test_bundled_names_and_hf_cache_names_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import local_model.load as load

    bundled = tmp_path / "weights"
    write_checkpoint(bundled / "kiri-test", "llada")
    monkeypatch.setattr(load, "BUNDLED_DIR", bundled)
    assert resolve_checkpoint("kiri-test") == bundled / "kiri-test"

    hub = tmp_path / "hub"
    repo = hub / "models--org--tiny-dream"
    write_checkpoint(repo / "snapshots" / "abc123", "dream")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    model, _ = load_model("org/tiny-dream", device="cpu")
    assert model.config.family == "dream"
    with pytest.raises(LoadError, match="not in the local Hugging Face cache"):
        load_model("org/absent", device="cpu")
    with pytest.raises(LoadError, match="no checkpoint at 'nope'.*kiri-test"):
        load_model("nope")


def _error(ckpt: Path) -> str:
    with pytest.raises(LoadError) as info:
        load_model(ckpt, device="cpu")
    message = str(info.value)
    assert "\n" not in message  # one line for the CLI edge
    return message


def test_missing_shard_is_named(tmp_path: Path) -> None:
    ckpt, _ = write_checkpoint(tmp_path / "m", "llada", shards=2)
    (ckpt / "model-00002-of-00002.safetensors").unlink()
    assert "model-00002-of-00002.safetensors" in _error(ckpt) and "missing" in _error(ckpt)


def test_corrupt_shard_is_named(tmp_path: Path) -> None:
    ckpt, _ = write_checkpoint(tmp_path / "m", "dream", shards=2)
    shard = ckpt / "model-00001-of-00002.safetensors"
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    assert "model-00001-of-00002.safetensors" in _error(ckpt)


def test_wrong_shape_names_the_weight(tmp_path: Path) -> None:
    ckpt, sd = write_checkpoint(tmp_path / "m", "dream")
    sd["model.layers.1.mlp.up_proj.weight"] = torch.zeros(63, 32)
    save_file(sd, str(ckpt / "model.safetensors"))
    message = _error(ckpt)
    assert "model.layers.1.mlp.up_proj.weight" in message and "(63, 32)" in message and "(64, 32)" in message


def test_unknown_and_missing_weights_are_named(tmp_path: Path) -> None:
    ckpt, sd = write_checkpoint(tmp_path / "m", "llada")
    extra = dict(sd, **{"model.transformer.blocks.0.att_proj.weight": torch.zeros(96, 32)})
    save_file(extra, str(ckpt / "model.safetensors"))
    assert "unexpected weight 'model.transformer.blocks.0.att_proj.weight'" in _error(ckpt)
    del sd["model.transformer.blocks.1.ff_norm.weight"]
    save_file(sd, str(ckpt / "model.safetensors"))
    # Reported under our name, which the loader expected.
    assert "missing weight 'model.layers.1.post_attention_layernorm.weight'" in _error(ckpt)


def test_unknown_family_and_bad_config_are_one_error(tmp_path: Path) -> None:
    ckpt, _ = write_checkpoint(tmp_path / "m", "dream")
    cfg = config_json("dream", make_tokenizer("dream"))
    (ckpt / "config.json").write_text(json.dumps(dict(cfg, model_type="mamba", architectures=["MambaLM"])))
    assert "unknown model family" in _error(ckpt) and "config.json" in _error(ckpt)
    del cfg["mask_token_id"]
    (ckpt / "config.json").write_text(json.dumps(cfg))
    assert "mask_token_id" in _error(ckpt)
    (ckpt / "config.json").write_text("{not json")
    assert "config.json" in _error(ckpt)


def test_missing_weights_file(tmp_path: Path) -> None:
    ckpt, _ = write_checkpoint(tmp_path / "m", "dream")
    (ckpt / "model.safetensors").unlink()
    assert "no model.safetensors" in _error(ckpt)
