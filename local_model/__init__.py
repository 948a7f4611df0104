"""local_model: kiri's masked-diffusion LM engine (token ids in, token ids out).

Public face (imported lazily, so `import local_model` does not import torch):

- `load_model(path_or_name, *, device=None, dtype=None, compile_mode=None) -> (DiffusionLM, Tokenizer)`,
  `save_model`, `LoadError` (local_model.load); `compile_model`, `COMPILE_MODES` (local_model.compiled)
- `generate(model, prompt_ids | template=..., ...) -> (ids, GenerateStats)`, `choose_commits` (local_model.sampler)
- `render_chat(family, messages)` (local_model.chat)
- `ModelConfig`, `ConfigError` (local_model.config), `DiffusionLM`, `KVCache` (local_model.model),
  `Tokenizer` (local_model.tokenizer)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_model": "load",
    "save_model": "load",
    "LoadError": "load",
    "compile_model": "compiled",
    "COMPILE_MODES": "compiled",
    "generate": "sampler",
    "choose_commits": "sampler",
    "GenerateStats": "sampler",
    "StepInfo": "sampler",
    "render_chat": "chat",
    "ModelConfig": "config",
    "ConfigError": "config",
    "DiffusionLM": "model",
    "KVCache": "model",
    "Tokenizer": "tokenizer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'local_model' has no attribute {name!r}")
    return getattr(importlib.import_module(f"local_model.{_EXPORTS[name]}"), name)
