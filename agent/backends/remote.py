"""The remote backend: any OpenAI-compatible Chat Completions server through the ``openai`` SDK.

Streaming with native tool calls (deltas assembled per call index, so parallel calls work), usage reported at the
end of the stream. Retries are ours, not the SDK's (``max_retries=0``), so they are visible and testable:
exponential backoff, ``Retry-After`` honoured, on 408/409/429/5xx, timeouts and connection errors; a
``BackendError`` (exit 3) after the last try. Servers that reject ``tools`` get the text protocol instead.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterator
from typing import Any

from agent.backends import textproto
from agent.backends.base import Done, Event, TextDelta, ToolCall, Usage
from agent.errors import BackendError

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}
MAX_RETRY_AFTER_S = 60.0  # never sleep longer than this on a server's say-so


class RemoteBackend:
    """Chat Completions over HTTP. ``protocol`` is ``native`` (tools API) or ``text`` (``<tool_call>`` blocks)."""

    def __init__(
        self,
        settings: Any,
        *,
        retries: int | None = None,
        backoff: float | None = None,
        protocol: str | None = None,
        streaming: bool | None = None,
        timeout: float = 300.0,
    ) -> None:
        self.model: str = settings.model
        self.base_url: str | None = settings.base_url
        self.api_key: str | None = settings.api_key
        self.temperature: float | None = settings.temperature
        self.max_tokens: int | None = settings.max_output_tokens
        # Optional settings (not every Settings has them); keyword arguments win, for tests and embedders.
        self.retries = retries if retries is not None else getattr(settings, "retries", 4)
        self.backoff = backoff if backoff is not None else getattr(settings, "retry_backoff", 1.0)
        self.protocol = protocol or getattr(settings, "tool_protocol", None) or "native"
        self.streaming = streaming if streaming is not None else getattr(settings, "stream", True)
        self.timeout = timeout
        self.stream_options = True  # dropped for servers that reject it
        self.attempts = 0  # requests sent by the last stream() call, for tests and diagnostics
        self._client: Any = None

    # -- public -----------------------------------------------------------------------------------------------

    def stream(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Iterator[Event]:
        """Yield the events of one assistant turn, retrying transient failures before anything was yielded."""
        import openai

        self.attempts = 0
        while True:
            self.attempts += 1
            emitted = False
            try:
                for event in self._once(messages, tools):
                    emitted = True
                    yield event
                return
            except openai.BadRequestError as exc:
                text = _error_text(exc).lower()
                if not emitted and self.protocol == "native" and tools and _NO_TOOLS.search(text):
                    self.protocol = (
                        "text"  # the model has no native tool calling: describe tools in the prompt
                    )
                    continue
                if not emitted and self.stream_options and "stream_options" in text:
                    self.stream_options = False
                    continue
                raise BackendError(f"model server rejected the request (400): {_error_text(exc)}") from None
            except openai.AuthenticationError as exc:
                raise BackendError(
                    f"authentication failed (401): {_error_text(exc)}; check the API key"
                ) from None
            except openai.NotFoundError as exc:
                raise BackendError(
                    f"not found (404) at {self._where()}: {_error_text(exc)}; check --model and --base-url"
                ) from None
            except (openai.APIStatusError, openai.APITimeoutError, openai.APIConnectionError) as exc:
                status = getattr(exc, "status_code", None)
                if isinstance(exc, openai.APIStatusError) and status not in RETRYABLE_STATUS:
                    raise BackendError(f"model server error ({status}): {_error_text(exc)}") from None
                what = _describe(exc)
                if emitted:
                    # Text already reached the user; a silent retry would show it twice.
                    raise BackendError(f"{what} in the middle of the answer from {self._where()}") from None
                if self.attempts > self.retries:
                    raise BackendError(
                        f"{what} from {self._where()} after {self.attempts} attempts"
                    ) from None
                time.sleep(self._delay(exc))
            except openai.APIError as exc:  # an error event inside the stream
                raise BackendError(f"model server error: {_error_text(exc)}") from None
            except (
                ValueError,
                RecursionError,
            ) as exc:  # undecodable (or absurdly nested) JSON in a chunk or body
                raise BackendError(f"malformed response from {self._where()}: {exc}") from None

    # -- one request ------------------------------------------------------------------------------------------

    def _client_(self) -> Any:
        if self._client is None:
            import openai

            if not self.api_key and not self.base_url:
                raise BackendError(
                    "no API key: set OPENAI_API_KEY or KIRI_API_KEY, or --base-url for a local server"
                )
            # Local servers (vLLM, Ollama) accept any key, but the SDK insists on one.
            self._client = openai.OpenAI(
                api_key=self.api_key or "not-needed",
                base_url=self.base_url,
                max_retries=0,
                timeout=self.timeout,
            )
        return self._client

    def _once(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Iterator[Event]:
        text_mode = self.protocol == "text" and bool(tools)
        kwargs: dict[str, Any] = {"model": self.model}
        if text_mode:
            kwargs["messages"] = textproto.to_text_messages(messages, tools)
        else:
            kwargs["messages"] = messages
            if tools:
                kwargs["tools"] = tools
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        client = self._client_()
        if not self.streaming:
            completion = client.chat.completions.create(**kwargs)
            yield from _completion_events(completion, text_mode)
            return
        if self.stream_options:
            kwargs["stream_options"] = {"include_usage": True}
        with client.chat.completions.create(stream=True, **kwargs) as chunks:
            yield from _stream_events(chunks, text_mode)

    # -- retries ----------------------------------------------------------------------------------------------

    def _delay(self, exc: Exception) -> float:
        response = getattr(exc, "response", None)
        header = response.headers.get("retry-after") if response is not None else None
        if header is not None:
            try:
                return min(max(float(header), 0.0), MAX_RETRY_AFTER_S)
            except ValueError:
                pass  # an HTTP date: fall back to our own schedule
        base = self.backoff * 2 ** (self.attempts - 1)
        return base * (0.5 + random.random() / 2)  # jitter, so parallel agents do not retry in lockstep

    def _where(self) -> str:
        return self.base_url or "api.openai.com"


def _stream_events(chunks: Any, text_mode: bool) -> Iterator[Event]:
    """Turn SSE chunks into events: text as it comes, tool calls once complete, then usage and done."""
    calls: dict[int, dict[str, str]] = {}
    splitter = textproto.StreamSplitter() if text_mode else None
    usage: Usage | None = None
    finish = "stop"
    for chunk in chunks:
        if getattr(chunk, "usage", None):
            usage = Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
        for choice in chunk.choices or []:
            delta = choice.delta
            if delta is not None and delta.content:
                shown = splitter.feed(delta.content) if splitter else delta.content
                if shown:
                    yield TextDelta(shown)
            for tc in (delta.tool_calls if delta is not None else None) or []:
                index = tc.index if tc.index is not None else len(calls)
                slot = calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
                slot["id"] = tc.id or slot["id"]
                if tc.function is not None:
                    if tc.function.name and tc.function.name != slot["name"]:
                        slot["name"] += tc.function.name
                    slot["arguments"] += tc.function.arguments or ""
            if choice.finish_reason:
                finish = choice.finish_reason
    if splitter is not None:
        rest = splitter.finish()
        if rest:
            yield TextDelta(rest)
        yield from textproto.parse_tool_calls(splitter.raw).calls
    for index in sorted(calls):
        slot = calls[index]
        yield ToolCall(slot["id"] or textproto.new_call_id(), slot["name"], slot["arguments"])
    if usage is not None:
        yield usage
    yield Done(finish)


def _completion_events(completion: Any, text_mode: bool) -> Iterator[Event]:
    """The same events from a non-streamed completion."""
    choice = completion.choices[0]
    content = choice.message.content or ""
    if text_mode:
        parsed = textproto.parse_tool_calls(content)
        if parsed.text:
            yield TextDelta(parsed.text)
        yield from parsed.calls
    else:
        if content:
            yield TextDelta(content)
        for tc in choice.message.tool_calls or []:
            yield ToolCall(tc.id or textproto.new_call_id(), tc.function.name, tc.function.arguments or "")
    if completion.usage is not None:
        yield Usage(completion.usage.prompt_tokens or 0, completion.usage.completion_tokens or 0)
    yield Done(choice.finish_reason or "stop")


# What servers say when a model has no native tool calling (Ollama "does not support tools", vLLM without
# --enable-auto-tool-choice, proxies that reject the parameter). Only these switch to the text protocol: other
# 400s that mention tools (a malformed tool message in the history) are real errors and must surface.
_NO_TOOLS = re.compile(
    r"(does not support|not supported|unsupported|unrecognized|unknown|not allowed|not permitted)[^.]{0,40}"
    r"\b(tools?|function calling|tool_choice)\b"
    r"|\b(tools?|function calling|tool_choice)\b[^.]{0,40}(not supported|unsupported|not allowed|not permitted)"
    r"|enable-auto-tool-choice"
)


def _error_text(exc: Exception) -> str:
    """The server's own error message when it sent one, else the SDK's."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
    message = getattr(exc, "message", None) or str(exc)
    return message if isinstance(message, str) else json.dumps(message)


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    if status == 429:
        return "rate limited (429)"
    if status is not None:
        return f"server error ({status})"
    return "request timed out" if "Timeout" in type(exc).__name__ else "cannot connect"
