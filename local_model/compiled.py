"""Opt-in `torch.compile` of a model's forward pass; on a GPU, "reduce-overhead" and "max-autotune" add CUDA graphs.

Never needed: the eager model gives the same tokens up to rounding (compiled kernels sum in another order, so a
confidence within ~1e-5 of a threshold may fall the other way). It is meant for a GPU, where a small model's
passes are bound by kernel launches that fused kernels (and CUDA graphs, one launch per pass) remove; that has not
been measured, as no GPU was available. CUDA graphs record one graph per input shape, and decoding meets many
(each block's pass is longer), so measure with bench/decode.py before relying on it. On these CPUs it buys
nothing: bench/decode.py --compile measured no gain for the bundled model, after 35-45 s of compiling, so every
caller leaves it off unless the user asks (setting `local_compile`).
"""

from __future__ import annotations

import os
import shutil

from .model import DiffusionLM

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


class CompileError(ValueError):
    """The model cannot be compiled here; the message says why in one line."""


def compile_model(model: DiffusionLM, mode: str = "default") -> DiffusionLM:
    """Compile `model`'s forward in place (calls to `model(...)` run the compiled code) and return it.

    Shapes change from pass to pass (each block's cached prefix is longer, verification adds columns, repair
    batches vary), so torch's automatic dynamic shapes decide: the second shape seen compiles a dynamic kernel
    instead of one per length. Compilation happens on the first call, not here.
    """
    if mode not in COMPILE_MODES:
        raise CompileError(f"unknown compile mode {mode!r} (choose from {', '.join(COMPILE_MODES)})")
    device = model.lm_head.weight.device
    if device.type == "cpu":
        # Inductor writes C++ for the CPU and builds it with $CXX (else g++); without one the first forward pass
        # would fail deep inside torch, mid-generation.
        cxx = os.environ.get("CXX") or "g++"
        if shutil.which(cxx) is None:
            raise CompileError(f"torch.compile on the CPU needs a C++ compiler and {cxx} was not found")
    model.compile(mode=None if mode == "default" else mode)
    return model
