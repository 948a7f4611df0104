"""A thin wrapper over `tokenizers.Tokenizer` that knows the special ids the engine needs."""

from __future__ import annotations

from pathlib import Path

# Special tokens of kiri's own tokenizer; other families bring theirs in tokenizer.json and config.json.
MASK, EOS, PAD = "<|mask|>", "<|endoftext|>", "<|pad|>"
# Chat-turn terminators that should also stop generation when a vocabulary has them.
TURN_END_TOKENS = ("<|im_end|>", "<|eot_id|>")


class TokenizerError(ValueError):
    """A tokenizer file that cannot be read."""


class Tokenizer:
    def __init__(self, inner) -> None:  # inner: tokenizers.Tokenizer
        self.inner = inner

    @classmethod
    def from_file(cls, path: str | Path) -> Tokenizer:
        from tokenizers import Tokenizer as HFTokenizer

        try:
            return cls(HFTokenizer.from_file(str(path)))
        except Exception as exc:  # tokenizers raises a bare Exception for malformed JSON
            raise TokenizerError(f"cannot read tokenizer {path}: {str(exc).splitlines()[0]}") from None

    @property
    def vocab_size(self) -> int:
        return self.inner.get_vocab_size(with_added_tokens=True)

    def token_to_id(self, token: str) -> int | None:
        return self.inner.token_to_id(token)

    def encode(self, text: str) -> list[int]:
        return self.inner.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.inner.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids, skip_special: bool = True) -> str:
        return self.inner.decode([int(i) for i in ids], skip_special_tokens=skip_special)

    def turn_end_ids(self) -> tuple[int, ...]:
        """Ids of chat-turn terminators present in this vocabulary."""
        found = (self.token_to_id(t) for t in TURN_END_TOKENS)
        return tuple(i for i in found if i is not None)


def train_bpe(files: list[str], vocab_size: int, out: str | Path) -> Tokenizer:
    """Train kiri's byte-level BPE on source files, with the mask, end and padding tokens reserved as ids 0-2."""
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import decoders, models, pre_tokenizers, trainers

    tok = HFTokenizer(models.BPE())
    # No prefix space: code is whitespace-sensitive and a leading space would change what a fill decodes to.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[MASK, EOS, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,
        show_progress=False,
    )
    tok.train(files, trainer)
    tok.save(str(out))
    return Tokenizer(tok)
