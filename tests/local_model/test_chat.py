"""Chat templates per family, checked against the tokenizers' special tokens."""

from __future__ import annotations

import pytest

from local_model.chat import render_chat
from tests.local_model.test_model import make_tokenizer

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


def test_qwen_format_for_kiri_and_dream() -> None:
    assert render_chat("kiri", MESSAGES) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )
    # Dream's template adds Qwen2.5's default system prompt when there is none.
    assert render_chat("dream", MESSAGES[1:], add_generation_prompt=False) == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
    )


def test_llada_format() -> None:
    assert render_chat("llada", MESSAGES) == (
        "<|startoftext|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )


@pytest.mark.parametrize(("family", "marker"), [("dream", "<|im_start|>"), ("llada", "<|start_header_id|>")])
def test_markers_encode_as_single_special_tokens(family: str, marker: str) -> None:
    tok = make_tokenizer(family)
    ids = tok.encode(render_chat(family, MESSAGES))
    assert ids.count(tok.token_to_id(marker)) == 3


def test_unknown_family() -> None:
    with pytest.raises(ValueError, match="no chat template"):
        render_chat("gpt2", MESSAGES)
