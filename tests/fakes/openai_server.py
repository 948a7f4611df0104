"""A scripted stand-in for a hosted model: an HTTP server speaking the Chat Completions wire format.

The only fake in kiri's tests. It runs on 127.0.0.1 in a thread, answers ``POST /v1/chat/completions`` from a
script of replies (streamed as SSE when the request asks for ``stream``, a JSON body otherwise) and records every
request body, so tests can assert what the agent sent.

    with FakeOpenAI() as server:
        server.add(tool_reply(call("read_file", {"path": "a.py"})), text_reply("done"))
        ... Settings(base_url=server.url, ...)
        server.requests[0]["messages"]
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer. ``calls`` are (id, name, arguments-as-raw-text); ``raw`` bypasses everything."""

    content: str = ""
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    status: int = 200
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # exact response body (e.g. a malformed SSE stream)
    split: int = 4  # characters per content / argument delta, so deltas are split across chunks
    usage: tuple[int, int] = (11, 7)
    delay: float = 0.0  # seconds to wait between chunks (to test interrupts and timeouts)
    finish_reason: str | None = None


def text_reply(content: str, **kw: Any) -> Reply:
    """An assistant answer without tool calls."""
    return Reply(content=content, **kw)


def call(name: str, arguments: dict[str, Any] | str, call_id: str | None = None) -> tuple[str, str, str]:
    """One tool call; ``arguments`` as a dict (encoded) or as raw text (possibly malformed on purpose)."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return (call_id or f"call_{name}_{abs(hash(raw)) % 10**8}", name, raw)


def tool_reply(*calls: tuple[str, str, str], content: str = "", **kw: Any) -> Reply:
    """An assistant answer with (possibly parallel) tool calls."""
    return Reply(content=content, calls=list(calls), **kw)


def error_reply(status: int, message: str = "error", headers: dict[str, str] | None = None) -> Reply:
    """An HTTP error in OpenAI's error body format."""
    return Reply(status=status, error=message, headers=headers or {})


def raw_reply(body: bytes, content_type: str = "text/event-stream") -> Reply:
    """Send ``body`` as is (for malformed streams)."""
    return Reply(raw=body, headers={"Content-Type": content_type})


class FakeOpenAI:
    """The server. ``add`` scripts replies in order; ``requests`` records each request's JSON body."""

    def __init__(self) -> None:
        self.script: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.request_times: list[float] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def add(self, *replies: Reply) -> FakeOpenAI:
        with self._lock:
            self.script.extend(replies)
        return self

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.request_times.append(time.monotonic())
            if not self.script:
                return error_reply(500, "fake server: script exhausted (the test expected fewer requests)")
            return self.script.popleft()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                reply = fake._next(body)
                if reply.raw is not None:
                    self._send_bytes(200, reply.raw, reply.headers)
                elif reply.error is not None:
                    self._send(
                        reply.status, {"error": {"message": reply.error, "type": "fake"}}, reply.headers
                    )
                elif body.get("stream"):
                    self._stream(body, reply)
                else:
                    self._send(200, _completion(body, reply))

            def _send(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                self._send_bytes(
                    status,
                    json.dumps(payload).encode(),
                    {"Content-Type": "application/json", **(headers or {})},
                )

            def _send_bytes(self, status: int, data: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                try:
                    for chunk in _chunks(body, reply, include_usage):
                        self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                        self.wfile.flush()
                        if reply.delay:
                            time.sleep(reply.delay)
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away (an interrupted generation)
                self.close_connection = True

        return Handler


def _base(body: dict[str, Any], obj: str) -> dict[str, Any]:
    return {"id": "chatcmpl-fake", "object": obj, "created": 1700000000, "model": body.get("model", "fake")}


def _pieces(text: str, n: int) -> list[str]:
    return [text[i : i + n] for i in range(0, len(text), n)] or [""]


def _chunks(body: dict[str, Any], reply: Reply, include_usage: bool) -> list[dict[str, Any]]:
    """SSE chunks the way OpenAI sends them: role, content pieces, tool-call deltas split, finish, usage."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            **_base(body, "chat.completion.chunk"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    out = [chunk({"role": "assistant", "content": ""})]
    if reply.content:
        out += [chunk({"content": piece}) for piece in _pieces(reply.content, reply.split)]
    for index, (call_id, name, args) in enumerate(reply.calls):
        head = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        out.append(chunk({"tool_calls": [head]}))
        out += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": p}}]})
            for p in _pieces(args, reply.split)
        ]
    out.append(chunk({}, reply.finish_reason or ("tool_calls" if reply.calls else "stop")))
    if include_usage:
        prompt, completion = reply.usage
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        out.append({**_base(body, "chat.completion.chunk"), "choices": [], "usage": usage})
    return out


def _completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content or None}
    if reply.calls:
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}} for i, n, a in reply.calls
        ]
    prompt, completion = reply.usage
    return {
        **_base(body, "chat.completion"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": reply.finish_reason or ("tool_calls" if reply.calls else "stop"),
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }
