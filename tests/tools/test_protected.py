"""Protected writes: `.git/` and `.kiri/` are asked about in every mode but full-auto, each time; a file
named `.git` is never written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools.conftest import init_repo
from tests.tools.test_gate import Approver
from tools import Gate, PermissionDenied, ToolContext, ToolResult
from tools.protected import is_dotgit, protection, refusal
from tools.registry import Registry


def _ctx(ws: Path, mode: str, approver: Approver | None = None) -> ToolContext:
    return ToolContext(ws, Gate(ws, mode=mode, approver=approver))


def _write(registry: Registry, ctx: ToolContext, path: str, content: str = "x\n") -> ToolResult:
    """write_file as the model would: an existing file is read first."""
    if (ctx.workspace / path).is_file():
        registry.call("read_file", {"path": path}, ctx)
    return registry.call("write_file", {"path": path, "content": content}, ctx)


@pytest.mark.parametrize("name", [".git", ".GIT", ".Git.", ".git ", "git~1", ".g\u200cit", "GIT~1"])
def test_names_git_treats_as_its_directory(name: str) -> None:
    assert is_dotgit(name)
    assert refusal(f"sub/{name}") is not None
    assert protection(f"{name}/config") is not None


@pytest.mark.parametrize("rel", ["src/git.py", ".gitignore", ".github/workflows/ci.yml", "a/.gitx/config"])
def test_ordinary_paths_are_not_protected(rel: str) -> None:
    assert protection(rel) is None and refusal(rel) is None


def test_kiri_config_is_protected_at_the_root_only() -> None:
    assert protection(".kiri/config.toml") is not None
    assert protection(".KIRI/config.toml") is not None
    assert protection("vendor/.kiri/config.toml") is None


@pytest.mark.parametrize(
    "path", [".git/config", ".git/hooks/pre-commit", "vendor/lib/.git/config", ".kiri/config.toml"]
)
def test_auto_edit_asks_with_the_reason_and_no_refuses(
    registry: Registry, workspace: Path, path: str
) -> None:
    init_repo(workspace)
    before = (workspace / path).read_bytes() if (workspace / path).exists() else None
    approver = Approver("no")
    result = _write(registry, _ctx(workspace, "auto-edit", approver), path)
    assert result.denied
    (request,) = approver.asked
    assert request.kind == "write" and path in request.summary and "asked because" in request.summary
    assert ".git/" in request.summary or ".kiri/" in request.summary
    assert ((workspace / path).read_bytes() if (workspace / path).exists() else None) == before


def test_without_an_approver_a_protected_write_is_refused(registry: Registry, workspace: Path) -> None:
    init_repo(workspace)
    result = _write(registry, _ctx(workspace, "auto-edit"), ".git/hooks/pre-commit", "#!/bin/sh\ntouch x\n")
    assert result.denied and "no one to ask" in result.content
    assert not (workspace / ".git" / "hooks" / "pre-commit").exists()


def test_always_for_edits_does_not_cover_protected_writes(registry: Registry, workspace: Path) -> None:
    init_repo(workspace)
    approver = Approver("always", "always", "no")
    ctx = _ctx(workspace, "ask", approver)
    assert not _write(registry, ctx, "a.txt").is_error  # "always" for ordinary edits
    assert not _write(registry, ctx, "b.txt").is_error  # not asked again
    assert not _write(registry, ctx, ".kiri/config.toml").is_error  # asked; "always" is a yes for this one
    assert _write(registry, ctx, ".git/info/attributes").denied  # asked again
    assert len(approver.asked) == 3


def test_full_auto_writes_into_git_without_asking(registry: Registry, workspace: Path) -> None:
    init_repo(workspace)
    result = _write(registry, _ctx(workspace, "full-auto"), ".git/hooks/pre-commit", "#!/bin/sh\n")
    assert not result.is_error, result.content
    assert (workspace / ".git" / "hooks" / "pre-commit").read_text() == "#!/bin/sh\n"


@pytest.mark.parametrize("path", [".git", ".GIT", "sub/.git", "git~1"])
def test_a_git_file_is_refused_even_in_full_auto(registry: Registry, workspace: Path, path: str) -> None:
    result = _write(registry, _ctx(workspace, "full-auto"), path, "gitdir: /elsewhere/.git\n")
    assert result.denied and "every approval mode" in result.content
    assert not (workspace / path).exists()


def test_apply_patch_cannot_create_rename_to_or_delete_a_git_file(
    registry: Registry, workspace: Path
) -> None:
    ctx = _ctx(workspace, "full-auto")
    create = "--- /dev/null\n+++ b/.git\n@@ -0,0 +1 @@\n+gitdir: /elsewhere/.git\n"
    assert registry.call("apply_patch", {"patch": create}, ctx).denied
    (workspace / "pointer").write_text("gitdir: /elsewhere/.git\n")
    rename = (
        "--- a/pointer\n+++ b/sub/.git\n@@ -1 +1 @@\n-gitdir: /elsewhere/.git\n+gitdir: /elsewhere/.git\n"
    )
    assert registry.call("apply_patch", {"patch": rename}, ctx).denied
    (workspace / ".git").write_text("gitdir: /elsewhere/.git\n")
    delete = "--- a/.git\n+++ /dev/null\n@@ -1 +0,0 @@\n-gitdir: /elsewhere/.git\n"
    assert registry.call("apply_patch", {"patch": delete}, ctx).denied
    assert (workspace / "pointer").exists() and (workspace / ".git").exists()
    assert not (workspace / "sub").exists()


def test_a_symlink_into_git_is_protected_too(registry: Registry, workspace: Path) -> None:
    init_repo(workspace)
    (workspace / "cfg").symlink_to(".git")
    approver = Approver("no")
    assert _write(registry, _ctx(workspace, "auto-edit", approver), "cfg/config").denied
    assert ".git/config" in approver.asked[0].summary


def test_the_gate_refuses_a_git_file_for_callers_that_skip_approval(workspace: Path) -> None:
    gate = Gate(workspace, mode="full-auto")
    with pytest.raises(PermissionDenied):
        gate.write_bytes(".git", b"gitdir: /elsewhere\n")
    (workspace / ".git").write_text("gitdir: /elsewhere\n")
    with pytest.raises(PermissionDenied):
        gate.delete(".git")
    with pytest.raises(PermissionDenied):
        gate.approve_write(".git", "")  # a single path as a string, as agent fix passes it
