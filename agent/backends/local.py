"""The local backend: kiri's masked-diffusion engine (local_model) behind the agent's Backend protocol.

Messages go through the text tool-call protocol (the system prompt describes the tools, calls come back as
``<tool_call>`` blocks), are rendered with the model family's chat template and decoded block by block with
draft-and-verify. Each finished block is streamed as a TextDelta, every denoising step is reported as Progress,
and the calls found in the text become ToolCall events. The model is loaded once, on the first turn.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

from agent.backends import textproto
from agent.backends.base import Done, Event, Progress, TextDelta, Usage
from agent.errors import BackendError

DEFAULT_MODEL = "kiri-coder"


class _Cancelled(Exception):
    """Raised inside the generation thread when the consumer stopped reading (Ctrl-C, closed stream)."""


class TextEvents:
    """Text chunks in, events out: TextDelta as text arrives (tool-call blocks held back), then calls and Done."""

    def __init__(self) -> None:
        self.splitter = textproto.StreamSplitter()

    def feed(self, chunk: str) -> list[Event]:
        shown = self.splitter.feed(chunk)
        return [TextDelta(shown)] if shown else []

    def finish(self, finish: str = "stop", usage: Usage | None = None) -> list[Event]:
        rest = self.splitter.finish()
        out: list[Event] = [TextDelta(rest)] if rest else []
        calls = textproto.parse_tool_calls(self.splitter.raw).calls
        out.extend(calls)
        if usage is not None:
            out.append(usage)
        out.append(Done("tool_calls" if calls else finish))
        return out


class LocalBackend:
    """Generate with a local diffusion LM: ``settings.local_model_path`` or the model name (default kiri-coder)."""

    def __init__(
        self,
        settings: Any,
        *,
        max_new_tokens: int | None = None,
        block_length: int = 32,
        commit: str | None = None,
    ) -> None:
        self.model_ref = str(settings.local_model_path or getattr(settings, "model", None) or DEFAULT_MODEL)
        self.device: str | None = settings.device
        self.temperature: float = settings.temperature or 0.0
        self.max_new_tokens = max_new_tokens or settings.max_output_tokens or 512
        self.block_length = block_length
        self.commit = settings.local_commit if commit is None else commit
        self.compile_mode: str = settings.local_compile
        self._loaded: tuple[Any, Any] | None = None

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            from local_model.load import (
                LoadError,
                load_model,
            )  # imported here: torch only for the local backend

            try:
                self._loaded = load_model(self.model_ref, device=self.device, compile_mode=self.compile_mode)
            except LoadError as exc:
                raise BackendError(f"local model: {exc}") from None
        return self._loaded

    def stream(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Iterator[Event]:
        """Yield Progress per denoising step, TextDelta per finished block, ToolCalls, Usage, Done."""
        import torch

        from local_model.chat import render_chat, turn_end_text
        from local_model.sampler import StepInfo, generate

        model, tok = self._load()
        family = model.config.family
        prompt = tok.encode(render_chat(family, textproto.to_text_messages(messages, tools)))
        n_prompt = len(prompt)
        stop_ids = set(model.config.stop_ids)
        events: queue.Queue[tuple[str, Any]] = queue.Queue()
        cancel = threading.Event()

        def on_step(info: StepInfo) -> None:
            if cancel.is_set():
                raise _Cancelled
            events.put(("progress", Progress(info.filled, info.total)))
            if info.block_done:
                events.put(("block", info.ids[0, n_prompt : info.span[1]].tolist()))

        def run() -> None:
            try:
                ids, _ = generate(
                    model,
                    torch.tensor([prompt]),
                    max_new_tokens=self.max_new_tokens,
                    block_length=self.block_length,
                    commit=self.commit,
                    temperature=self.temperature,
                    generator=torch.Generator(device=model.lm_head.weight.device).manual_seed(0),
                    on_step=on_step,
                )
                events.put(("end", ids[0, n_prompt:].tolist()))
            except _Cancelled:
                events.put(("end", None))
            except BaseException as exc:  # noqa: BLE001 -- re-raised in the consumer's thread, not swallowed
                events.put(("error", exc))

        def completion(ids: list[int]) -> tuple[str, int, bool]:
            """Decoded text up to the first stop, its token count, and whether a stop was reached."""
            cut = next((i for i, t in enumerate(ids) if t in stop_ids), None)
            text = tok.decode(ids[:cut])
            end = text.find(turn_end_text(family))  # vocabularies without the turn-end token write it as text
            stopped = cut is not None or end >= 0
            return (text[:end] if end >= 0 else text), (len(ids) if cut is None else cut + 1), stopped

        worker = threading.Thread(target=run, name="kiri-local-generate", daemon=True)
        worker.start()
        out = TextEvents()
        shown, tokens, stopped = "", 0, False
        try:
            while True:
                kind, payload = events.get()
                if kind == "progress":
                    yield payload
                    continue
                if kind == "error":
                    raise payload
                if payload is None:  # cancelled
                    return
                text, tokens, stopped = completion(payload)
                if kind == "block":
                    text = text.rstrip("\ufffd")  # a partly decoded character: the next block completes it
                if text.startswith(shown) and len(text) > len(shown):
                    yield from out.feed(text[len(shown) :])
                    shown = text
                if kind == "end":
                    break
            yield from out.finish("stop" if stopped else "length", Usage(n_prompt, tokens))
        finally:
            cancel.set()
            worker.join()
