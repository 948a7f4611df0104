"""compiled.py: opt-in torch.compile decodes the eager model's tokens; a missing compiler is one clear error."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from local_model.compiled import CompileError, compile_model
from local_model.load import LoadError, load_model
from local_model.sampler import generate
from tests.local_model.test_model import (
    one_thread,  # noqa: F401  (autouse fixture: applies to this module)
    tiny_model,
    write_checkpoint,
)

PROMPT = torch.tensor([[5, 9, 17, 3, 40, 22]])


def _decode(model: torch.nn.Module) -> list[torch.Tensor]:
    """Draft-and-verify with the cache (every pass shape: opening, cached, shadow copies), then infilling.

    Compiled kernels round differently (logits differ by ~3e-5 here); the thresholds sit where no confidence of
    this model comes within 1.8e-3 of them, so only a real difference can change a decision.
    """
    out, stats = generate(
        model, PROMPT, max_new_tokens=12, block_length=6, commit="draft_verify", threshold=0.9,
        draft_threshold=0.05, verify_threshold=0.4, use_cache=True, stop_at_eos=False,
    )  # fmt: skip
    assert stats.remasked > 0  # the shadow pass ran, so its shape was compiled too
    template = out.clone()
    template[0, 8:12] = model.config.mask_token_id
    filled, _ = generate(model, template=template, block_length=4, commit="fixed", use_cache=False)
    return [out, filled]


@pytest.mark.skipif(
    shutil.which(os.environ.get("CXX") or "g++") is None, reason="Inductor on the CPU needs a C++ compiler"
)
def test_compiled_model_decodes_the_same_tokens_as_eager() -> None:
    from torch._dynamo.utils import counters

    eager = _decode(tiny_model(shift=True))
    graphs = counters["stats"]["unique_graphs"]
    compiled = _decode(compile_model(tiny_model(shift=True), "default"))
    assert counters["stats"]["unique_graphs"] > graphs  # the passes really went through torch.compile
    for a, b in zip(eager, compiled, strict=True):
        assert torch.equal(a, b)


def test_unknown_mode_and_missing_compiler_are_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(CompileError, match="unknown compile mode 'fastest'"):
        compile_model(tiny_model(), "fastest")
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-c++"))
    ckpt, _ = write_checkpoint(tmp_path / "ckpt", "dream")
    with pytest.raises(LoadError, match="needs a C\\+\\+ compiler and .*no-such-c\\+\\+ was not found"):
        load_model(ckpt, device="cpu", compile_mode="default")
    model, _ = load_model(ckpt, device="cpu", compile_mode="off")  # off: no compiler needed
    assert model._compiled_call_impl is None
