"""Shared fixtures: a workspace with a canary file outside it, contexts, a registry and real git repos."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from memory import Store
from tools import Gate, ToolContext, ToolResult, default_registry
from tools.changes import StoreRecorder
from tools.registry import Registry

CANARY = b"outside the workspace: must never change\n"


@dataclass
class Recorder:
    """A ChangeRecorder keeping what it was given, to assert on."""

    changes: list[tuple[str, bytes | None, bytes | None, str]] = field(default_factory=list)

    def record(self, path: str, before: bytes | None, after: bytes | None, diff: str) -> None:
        self.changes.append((path, before, after, diff))


@pytest.fixture(scope="session")
def registry() -> Registry:
    return default_registry()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the workspace holding a canary file."""
    out = tmp_path / "outside"
    out.mkdir()
    (out / "canary.txt").write_bytes(CANARY)
    return out


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def ctx(workspace: Path, recorder: Recorder) -> ToolContext:
    return ToolContext(workspace, Gate(workspace, mode="full-auto"), recorder)


@pytest.fixture
def call(registry: Registry, ctx: ToolContext) -> Callable[..., ToolResult]:
    """call("read_file", path="x") runs a tool through the registry, as the loop does."""

    def run(name: str, **arguments: object) -> ToolResult:
        return registry.call(name, arguments, ctx)

    return run


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def init_repo(path: Path) -> Path:
    git(path, "init", "-q", "-b", "main")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite store in the test's temp dir."""
    s = Store(f"sqlite:///{tmp_path / 'kiri.sqlite3'}")
    yield s
    s.close()


@pytest.fixture
def session(store: Store, workspace: Path) -> str:
    return store.create_session(
        project_dir=str(workspace),
        backend="remote",
        model="test",
        prompt_name="system",
        prompt_version="1.0.0",
        system_prompt="You are a test.",
    )


@pytest.fixture
def sctx(store: Store, session: str, workspace: Path) -> ToolContext:
    return ToolContext(workspace, Gate(workspace, mode="full-auto"), StoreRecorder(store, session))
