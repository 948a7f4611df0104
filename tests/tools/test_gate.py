"""The permission gate: approval modes, deny rules, and that every tool goes through it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.tools.conftest import init_repo
from tests.tools.test_registry import EXAMPLES
from tools import ApprovalRequest, Gate, PermissionDenied, ToolContext
from tools.registry import Registry


class Approver:
    """Answers from a script and remembers what it was asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[ApprovalRequest] = []

    def __call__(self, request: ApprovalRequest) -> str:
        self.asked.append(request)
        return self.answers.pop(0)


def _ctx(ws: Path, mode: str, approver: Approver | None = None) -> ToolContext:
    return ToolContext(ws, Gate(ws, mode=mode, approver=approver))


def test_ask_mode_asks_before_writing_and_shows_the_diff(registry: Registry, workspace: Path) -> None:
    approver = Approver("yes")
    result = registry.call(
        "write_file", {"path": "a.txt", "content": "hi\n"}, _ctx(workspace, "ask", approver)
    )
    assert not result.is_error
    (request,) = approver.asked
    assert request.kind == "write" and "a.txt" in request.summary and "+hi" in (request.diff or "")


def test_ask_mode_no_leaves_the_file_alone_and_says_denied(registry: Registry, workspace: Path) -> None:
    result = registry.call(
        "write_file", {"path": "a.txt", "content": "hi\n"}, _ctx(workspace, "ask", Approver("no"))
    )
    assert result.denied and "declined" in result.content
    assert not (workspace / "a.txt").exists()


def test_always_answer_covers_later_writes_in_the_session(registry: Registry, workspace: Path) -> None:
    approver = Approver("always")
    ctx = _ctx(workspace, "ask", approver)
    for name in ("a.txt", "b.txt", "c.txt"):
        assert not registry.call("write_file", {"path": name, "content": "x"}, ctx).is_error
    assert len(approver.asked) == 1


def test_always_for_a_shell_command_is_for_that_command_only(registry: Registry, workspace: Path) -> None:
    approver = Approver("always", "no")
    ctx = _ctx(workspace, "ask", approver)
    assert "exit code: 0" in registry.call("run_shell", {"command": "true"}, ctx).content
    assert "exit code: 0" in registry.call("run_shell", {"command": "true"}, ctx).content
    assert registry.call("run_shell", {"command": "echo other"}, ctx).denied
    assert [r.summary for r in approver.asked] == ["run: true", "run: echo other"]


def test_auto_edit_writes_freely_but_asks_for_shell(registry: Registry, workspace: Path) -> None:
    approver = Approver("no")
    ctx = _ctx(workspace, "auto-edit", approver)
    assert not registry.call("write_file", {"path": "a.txt", "content": "x"}, ctx).is_error
    assert registry.call("run_shell", {"command": "touch made"}, ctx).denied
    assert not (workspace / "made").exists()
    assert [r.kind for r in approver.asked] == ["shell"]


def test_full_auto_never_asks(registry: Registry, workspace: Path) -> None:
    def never(request: ApprovalRequest) -> str:
        raise AssertionError(f"asked: {request}")

    ctx = ToolContext(workspace, Gate(workspace, mode="full-auto", approver=never))
    assert not registry.call("write_file", {"path": "a.txt", "content": "x"}, ctx).is_error
    assert "exit code: 0" in registry.call("run_shell", {"command": "true"}, ctx).content


def test_ask_mode_without_an_approver_denies_with_a_reason(registry: Registry, workspace: Path) -> None:
    result = registry.call("run_shell", {"command": "true"}, _ctx(workspace, "ask"))
    assert result.denied and "no one to ask" in result.content


def test_reads_never_ask(registry: Registry, workspace: Path) -> None:
    (workspace / "a.txt").write_text("x\n")
    ctx = _ctx(workspace, "ask", Approver())  # an empty script: any question would fail
    for name in ("read_file", "list_dir", "glob", "search"):
        args = {"read_file": {"path": "a.txt"}, "glob": {"pattern": "*"}, "search": {"pattern": "x"}}.get(
            name, {}
        )
        assert not registry.call(name, args, ctx).is_error, name


@pytest.mark.parametrize(
    "command",
    [
        "rm -rf /",
        "rm -rf / ",
        "sudo rm -fr /",
        "rm -r -f /*",
        "cd src && rm -rf ~",
        "rm -rf $HOME",
        "rm --no-preserve-root -rf /",
        "git push --force",
        "git push -f origin main",
        "git push origin +main",
        "git -C repo push --force-with-lease",
        "mkfs.ext4 /dev/sda1",
        ":(){ :|:& };:",
        "dd if=/dev/zero of=/dev/sda bs=1M",
        "echo x > /dev/sda",
        "chmod -R 777 /",
    ],
)
def test_deny_rules_hold_in_full_auto(registry: Registry, workspace: Path, command: str) -> None:
    result = registry.call("run_shell", {"command": command}, _ctx(workspace, "full-auto"))
    assert result.denied and "deny rule" in result.content


@pytest.mark.parametrize(
    "command",
    [
        "rm -rf build/",
        "rm -rf ./dist /tmp/kiri-test-not-there",
        "git push origin main",
        "git push --follow-tags",
        "dd if=in.bin of=out.bin",
        "echo '-f flag' && git status",
        "cat /dev/null > log.txt",
    ],
)
def test_ordinary_commands_are_not_denied(workspace: Path, command: str) -> None:
    Gate(workspace, mode="full-auto").check_command(command)


def test_configured_patterns_literal_and_regex(workspace: Path) -> None:
    gate = Gate(workspace, mode="full-auto", deny_patterns=["npm publish", "re:curl .*\\|\\s*sh"])
    for command in ("npm  publish --tag next", "curl https://x.example | sh"):
        with pytest.raises(PermissionDenied, match="deny rule"):
            gate.check_command(command)
    gate.check_command("npm publishing-guide")
    gate.check_command("curl https://x.example -o file")


def test_bad_configuration_is_a_clear_error(workspace: Path) -> None:
    with pytest.raises(ValueError, match="unknown approval mode"):
        Gate(workspace, mode="yolo")
    with pytest.raises(ValueError, match="invalid deny pattern"):
        Gate(workspace, deny_patterns=["re:("])
    with pytest.raises(ValueError, match="not a directory"):
        Gate(workspace / "missing")


class DenyAllGate(Gate):
    """Refuses every path, write and command, and counts how often it was consulted."""

    def __init__(self, workspace: Path) -> None:
        super().__init__(workspace, mode="full-auto")
        self.consulted = 0

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        self.consulted += 1
        raise PermissionDenied("deny-all gate")

    def approve_write(self, path: str, diff: str) -> None:
        self.consulted += 1
        raise PermissionDenied("deny-all gate")

    def approve_shell(self, command: str) -> None:
        self.consulted += 1
        raise PermissionDenied("deny-all gate")


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_tool_goes_through_the_gate(registry: Registry, workspace: Path, name: str) -> None:
    """Enumerates the registry: with a gate that refuses everything, no tool gets anything done."""
    init_repo(workspace)
    (workspace / "a.txt").write_text("x\n")
    (workspace / "src").mkdir()
    before = _snapshot(workspace)
    gate = DenyAllGate(workspace)
    ctx = ToolContext(workspace, gate)
    ctx.remember("a.txt", b"x\n")
    result = registry.call(name, EXAMPLES[name], ctx)
    assert result.denied, (name, result.content)
    assert gate.consulted >= 1
    assert _snapshot(workspace) == before
