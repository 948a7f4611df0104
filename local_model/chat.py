"""Chat templates per model family, rendered to text (the engine itself knows token ids only).

- Dream family and kiri: Qwen's `<|im_start|>role\\n...<|im_end|>\\n` turns. Dream's tokenizer config adds
  Qwen2.5's default system prompt when the conversation has none; kiri's own model was not trained with one.
- LLaDA: LLaMA-3 headers, `<|startoftext|><|start_header_id|>role<|end_header_id|>\\n\\n...<|eot_id|>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .config import FAMILIES

QWEN_DEFAULT_SYSTEM = "You are a helpful assistant."


def _content(message: Mapping[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # OpenAI content parts: keep the text ones
        content = "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    return str(content)


def _qwen(messages: list[Mapping[str, Any]], add_generation_prompt: bool, default_system: str | None) -> str:
    parts = []
    if default_system is not None and (not messages or messages[0].get("role") != "system"):
        parts.append(f"<|im_start|>system\n{default_system}<|im_end|>\n")
    for m in messages:
        parts.append(f"<|im_start|>{m['role']}\n{_content(m)}<|im_end|>\n")
    if add_generation_prompt:
        parts.append("<|im_start|>assistant\n")
    return "".join(parts)


def _llada(messages: list[Mapping[str, Any]], add_generation_prompt: bool) -> str:
    parts = ["<|startoftext|>"]
    for m in messages:
        parts.append(f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n{_content(m).strip()}<|eot_id|>")
    if add_generation_prompt:
        parts.append("<|start_header_id|>assistant<|end_header_id|>\n\n")
    return "".join(parts)


def render_chat(
    family: str, messages: Iterable[Mapping[str, Any]], add_generation_prompt: bool = True
) -> str:
    """The prompt text for `messages` (OpenAI-style dicts with role and content) in `family`'s chat format."""
    msgs = list(messages)
    if family == "dream":
        return _qwen(msgs, add_generation_prompt, QWEN_DEFAULT_SYSTEM)
    if family == "kiri":
        return _qwen(msgs, add_generation_prompt, None)
    if family == "llada":
        return _llada(msgs, add_generation_prompt)
    raise ValueError(f"no chat template for family {family!r} (known: {', '.join(FAMILIES)})")


def turn_end_text(family: str) -> str:
    """The text that closes an assistant turn, for cutting generated text when the vocabulary lacks the token."""
    return "<|eot_id|>" if family == "llada" else "<|im_end|>"
