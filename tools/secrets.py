"""kiri's credentials: which environment variables never reach a child process, and which values never reach
the record, the model or the terminal.

A `Secrets` is built once per command from the settings (`agent.settings.Settings.secrets`). `child_env` gives
the environment for any process kiri starts for the repository (shell commands, test runs, ripgrep, git);
`redact` replaces every known secret value in text that is about to be stored, sent or shown. The default
`Secrets()` already drops kiri's own key variables, so a process started without settings is still clean.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The variables kiri reads its API key from (agent.settings uses this tuple for `api_key`, first set wins).
CREDENTIAL_VARS: tuple[str, ...] = ("KIRI_API_KEY", "OPENAI_API_KEY")
REDACTED = "[redacted]"
# Shorter values would match by accident (a variable set to "1" or "main") and mangle ordinary text.
MIN_SECRET_CHARS = 8
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Secrets:
    """The names of secret environment variables and the secret values known to this process."""

    names: frozenset[str] = frozenset(CREDENTIAL_VARS)
    values: tuple[str, ...] = ()  # longest first, so a secret containing another is replaced whole
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        usable = sorted(
            {v for v in self.values if len(v) >= MIN_SECRET_CHARS and v not in REDACTED},
            key=lambda v: -len(v),
        )
        object.__setattr__(self, "values", tuple(usable))
        if usable:
            object.__setattr__(self, "_pattern", re.compile("|".join(re.escape(v) for v in usable)))

    @classmethod
    def collect(
        cls,
        extra_names: Iterable[str] = (),
        extra_values: Iterable[str | None] = (),
        env: Mapping[str, str] | None = None,
    ) -> Secrets:
        """kiri's key variables plus `extra_names`; their values in `env` and `extra_values` are secret."""
        env = os.environ if env is None else env
        names = frozenset((*CREDENTIAL_VARS, *extra_names))
        values = [v for v in extra_values if v] + [env[n] for n in names if env.get(n)]
        return cls(names, tuple(values))

    def child_env(
        self, base: Mapping[str, str] | None = None, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """`base` (default: this process's environment) plus `extra`, without any secret variable."""
        base = os.environ if base is None else base
        env = {k: v for k, v in base.items() if k not in self.names}
        env.update({k: v for k, v in (extra or {}).items() if k not in self.names})
        return env

    def redact(self, text: str) -> str:
        """`text` with every known secret value replaced by the marker."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REDACTED, text)

    def redact_json(self, value: Any) -> Any:
        """A JSON-like value (dicts, lists, strings) with every string redacted; the shape is kept."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self.redact_json(v) for v in value]
        if isinstance(value, dict):
            return {k: self.redact_json(v) for k, v in value.items()}
        return value

    def stream(self) -> StreamRedactor:
        """A redactor for text that arrives in pieces (a streamed reply may split a secret across deltas)."""
        return StreamRedactor(self)


class StreamRedactor:
    """Redacts a stream: holds back the end of the text seen so far while it could be the start of a secret."""

    def __init__(self, secrets: Secrets) -> None:
        self._secrets = secrets
        self._held = ""

    def feed(self, piece: str) -> str:
        """The part of the stream that is now safe to show."""
        if not self._secrets.values:
            return piece
        text = self._secrets.redact(self._held + piece)
        keep = self._pending_prefix(text)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        """Whatever is still held back (the stream ended: it was not a secret after all)."""
        held, self._held = self._held, ""
        return held

    def _pending_prefix(self, text: str) -> int:
        """The length of the longest end of `text` that is a proper prefix of some secret."""
        longest = 0
        for value in self._secrets.values:
            for n in range(min(len(value) - 1, len(text)), longest, -1):
                if text.endswith(value[:n]):
                    longest = n
                    break
        return longest
