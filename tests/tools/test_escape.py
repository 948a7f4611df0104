"""The escape suite: attempts to read or write outside the workspace are refused, nothing outside changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.tools.conftest import CANARY, init_repo
from tools import Gate, PermissionDenied, ToolContext
from tools.registry import Registry

# "{out}" is replaced by the absolute path of the directory outside the workspace
ATTEMPTS: list[tuple[str, dict[str, object]]] = [
    ("read_file", {"path": "../outside/canary.txt"}),
    ("read_file", {"path": "{out}/canary.txt"}),
    ("read_file", {"path": "linkdir/canary.txt"}),
    ("read_file", {"path": "linkfile"}),
    ("read_file", {"path": "sub/deeper/canary.txt"}),
    ("read_file", {"path": "sub/../../outside/canary.txt"}),
    ("read_file", {"path": "~/.bashrc"}),
    ("read_file", {"path": "~"}),
    ("read_file", {"path": "a.txt\0../../outside/canary.txt"}),
    ("read_file", {"path": "x/" * 2100 + "a.txt"}),
    ("read_file", {"path": "n" * 300}),
    ("read_file", {"path": "/etc/passwd"}),
    ("list_dir", {"path": ".."}),
    ("list_dir", {"path": "/"}),
    ("list_dir", {"path": "linkdir"}),
    ("glob", {"pattern": "../*"}),
    ("glob", {"pattern": "../outside/*.txt"}),
    ("glob", {"pattern": "{out}/*"}),
    ("glob", {"pattern": "linkdir/*"}),
    ("glob", {"pattern": "~/*"}),
    ("search", {"pattern": "outside", "path": ".."}),
    ("search", {"pattern": "outside", "path": "{out}"}),
    ("search", {"pattern": "outside", "path": "linkdir"}),
    ("search", {"pattern": "outside", "path": "linkfile"}),
    ("git_diff", {"path": "../outside"}),
    ("write_file", {"path": "../outside/canary.txt", "content": "pwned"}),
    ("write_file", {"path": "{out}/canary.txt", "content": "pwned"}),
    ("write_file", {"path": "../outside/new.txt", "content": "pwned"}),
    ("write_file", {"path": "linkfile", "content": "pwned"}),
    ("write_file", {"path": "linkdir/new.txt", "content": "pwned"}),
    ("write_file", {"path": "sub/deeper/new.txt", "content": "pwned"}),
    ("write_file", {"path": "~/new.txt", "content": "pwned"}),
    ("write_file", {"path": "new.txt\0", "content": "pwned"}),
    ("write_file", {"path": "n" * 5000, "content": "pwned"}),
    ("edit_file", {"path": "linkfile", "old": "outside", "new": "pwned"}),
    ("edit_file", {"path": "../outside/canary.txt", "old": "outside", "new": "pwned"}),
    ("edit_file", {"path": "linkdir/canary.txt", "old": "outside", "new": "pwned"}),
    (
        "apply_patch",
        {"patch": "--- a/../outside/canary.txt\n+++ b/../outside/canary.txt\n@@ -1 +1 @@\n-x\n+y\n"},
    ),
    ("apply_patch", {"patch": "--- {out}/canary.txt\n+++ {out}/canary.txt\n@@ -1 +1 @@\n-x\n+y\n"}),
    ("apply_patch", {"patch": "--- /dev/null\n+++ b/../outside/evil.txt\n@@ -0,0 +1 @@\n+pwned\n"}),
    ("apply_patch", {"patch": "--- a/linkdir/canary.txt\n+++ b/linkdir/canary.txt\n@@ -1 +1 @@\n-x\n+y\n"}),
    ("apply_patch", {"patch": "--- /dev/null\n+++ b/linkdir/evil.txt\n@@ -0,0 +1 @@\n+pwned\n"}),
    (
        "apply_patch",
        {
            "patch": "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+b\n--- /dev/null\n+++ b/../outside/x\n@@ -0,0 +1 @@\n+p\n"
        },
    ),
]


def _fill(value: object, out: Path) -> object:
    return value.replace("{out}", str(out)) if isinstance(value, str) else value


def _outside_state(out: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.iterdir())}


@pytest.fixture
def escape_ws(workspace: Path, outside: Path) -> Path:
    init_repo(workspace)
    (workspace / "a.txt").write_text("a\n")
    (workspace / "sub").mkdir()
    os.symlink(outside, workspace / "linkdir")
    os.symlink(outside / "canary.txt", workspace / "linkfile")
    os.symlink("../../outside", workspace / "sub" / "deeper")
    return workspace


@pytest.mark.parametrize(("name", "args"), ATTEMPTS, ids=[f"{i:02}-{n}" for i, (n, _) in enumerate(ATTEMPTS)])
def test_escape_is_refused(registry: Registry, escape_ws: Path, outside: Path, name: str, args: dict) -> None:
    ctx = ToolContext(escape_ws, Gate(escape_ws, mode="full-auto"))
    ctx.remember("linkfile", CANARY)  # as if the model had read it: the refusal must come from the gate
    before = _outside_state(outside)
    result = registry.call(name, {k: _fill(v, outside) for k, v in args.items()}, ctx)
    assert result.denied, result.content
    assert "canary" not in result.content.replace("canary.txt", "")  # no content leaked
    assert CANARY.decode().strip() not in result.content
    assert _outside_state(outside) == before
    assert (escape_ws / "a.txt").read_text() == "a\n"  # an all-or-nothing patch left the good part alone


def test_at_least_thirty_attempts() -> None:
    assert len(ATTEMPTS) >= 30


class SwappingGate(Gate):
    """Swaps a path for a symlink to the outside right after its check: the race `O_NOFOLLOW` defeats."""

    def __init__(self, workspace: Path, victim: Path, target: Path) -> None:
        super().__init__(workspace, mode="full-auto")
        self.victim, self.target = victim, target

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        real = super().resolve(path)
        if not self.victim.is_symlink():
            if self.victim.is_dir():
                for child in self.victim.iterdir():
                    child.unlink()
                self.victim.rmdir()
            else:
                self.victim.unlink()
            os.symlink(self.target, self.victim)
        return real


@pytest.mark.parametrize("operation", ["read", "write"])
def test_directory_swapped_after_the_check_is_not_followed(
    workspace: Path, outside: Path, operation: str
) -> None:
    (workspace / "d").mkdir()
    (workspace / "d" / "canary.txt").write_text("inside\n")
    before = _outside_state(outside)
    gate = SwappingGate(workspace, workspace / "d", outside)
    with pytest.raises(PermissionDenied, match="became a symlink"):
        if operation == "write":
            gate.write_bytes("d/canary.txt", b"pwned")
        else:
            gate.read_bytes("d/canary.txt")
    assert (workspace / "d").is_symlink()  # the swap did happen
    assert _outside_state(outside) == before


@pytest.mark.parametrize("operation", ["read", "write"])
def test_file_swapped_after_the_check_is_not_followed(workspace: Path, outside: Path, operation: str) -> None:
    (workspace / "f.txt").write_text("inside\n")
    before = _outside_state(outside)
    gate = SwappingGate(workspace, workspace / "f.txt", outside / "canary.txt")
    with pytest.raises(PermissionDenied, match="became a symlink"):
        if operation == "write":
            gate.write_bytes("f.txt", b"pwned")
        else:
            gate.read_bytes("f.txt")
    assert (workspace / "f.txt").is_symlink()
    assert _outside_state(outside) == before


def test_shell_may_cd_out_but_file_tools_stay_confined(
    registry: Registry, escape_ws: Path, outside: Path
) -> None:
    ctx = ToolContext(escape_ws, Gate(escape_ws, mode="full-auto"))
    shell = registry.call("run_shell", {"command": "cd .. && ls outside"}, ctx)
    assert "canary.txt" in shell.content  # the shell is the user's own; approval governs it, not confinement
    assert registry.call("read_file", {"path": "../outside/canary.txt"}, ctx).denied


def test_symlinks_within_the_workspace_are_fine(registry: Registry, workspace: Path) -> None:
    (workspace / "real").mkdir()
    (workspace / "real" / "f.txt").write_text("hello\n")
    os.symlink("real", workspace / "alias")
    ctx = ToolContext(workspace, Gate(workspace, mode="full-auto"))
    assert "hello" in registry.call("read_file", {"path": "alias/f.txt"}, ctx).content
    assert not registry.call("read_file", {"path": str(workspace / "real" / "f.txt")}, ctx).is_error
    assert not registry.call("read_file", {"path": "real/../real/f.txt"}, ctx).is_error
