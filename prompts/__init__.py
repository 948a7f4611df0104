"""prompts: one TOML file per prompt (``name``, ``version``, ``description``, ``template``) and a loader.

``load_prompt("system").render(workspace=..., ...)``. Templates use ``{{ name }}`` placeholders; rendering with a
missing value is an error (a prompt silently missing its environment would be worse). No logic beyond that:
gathering the environment is the caller's job (``agent.session``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")


class PromptError(ValueError):
    """A prompt file is missing or invalid, or was rendered without a value it needs."""


@dataclass(frozen=True)
class Prompt:
    """A loaded prompt. ``version`` is semver; sessions record ``name`` and ``version`` with the rendered text."""

    name: str
    version: str
    description: str
    template: str

    def placeholders(self) -> set[str]:
        """The names the template needs."""
        return set(_PLACEHOLDER.findall(self.template))

    def render(self, **env: Any) -> str:
        """Fill every ``{{ name }}`` from ``env``; raise ``PromptError`` naming any that is missing."""
        missing = sorted(self.placeholders() - env.keys())
        if missing:
            raise PromptError(f"prompt {self.name!r} needs {', '.join(missing)}")
        return _PLACEHOLDER.sub(lambda m: str(env[m.group(1)]), self.template).strip() + "\n"


def load_prompt(name: str) -> Prompt:
    """Load ``prompts/<name>.toml`` from the installed package."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise PromptError(f"invalid prompt name {name!r}")
    resource = resources.files(__name__).joinpath(f"{name}.toml")
    try:
        data = tomllib.loads(resource.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PromptError(f"no prompt named {name!r}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PromptError(f"prompts/{name}.toml: invalid TOML: {exc}") from None
    for key in ("name", "version", "description", "template"):
        if not isinstance(data.get(key), str):
            raise PromptError(f"prompts/{name}.toml: missing string field {key!r}")
    if data["name"] != name:
        raise PromptError(f"prompts/{name}.toml: name is {data['name']!r}, expected {name!r}")
    if not _SEMVER.match(data["version"]):
        raise PromptError(f"prompts/{name}.toml: version {data['version']!r} is not semver")
    return Prompt(data["name"], data["version"], data["description"], data["template"])


def available() -> list[str]:
    """Names of the prompts shipped in the package."""
    return sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml"))


__all__ = ["Prompt", "PromptError", "available", "load_prompt"]
