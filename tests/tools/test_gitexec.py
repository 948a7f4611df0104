"""tools.gitexec and tools.gitdir: kiri's git calls start none of the programs a repository can configure,
use only the workspace's own repository, and write nothing to it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fakes.hostile_git import VECTORS, git, marker_program, plant
from tests.fakes.workspace import git_repo
from tools.errors import ToolError
from tools.gitdir import ForeignGitDir, NotARepository, locate
from tools.gitexec import Git, driver_overrides, git_environment

# Every call kiri makes: the git tools' and the session summary's.
KIRI_CALLS: tuple[tuple[str, ...], ...] = (
    ("rev-parse", "--verify", "--quiet", "HEAD"),
    ("rev-parse", "--abbrev-ref", "HEAD"),
    ("status", "--porcelain"),
    ("status", "--short", "--branch", "--", "."),
    ("diff-index", "-p", "--no-color", "HEAD", "--", "."),
    ("diff", "-p", "--no-color", "--cached", "--", "."),
    ("diff-files", "-p", "--no-color", "--", "."),
    ("ls-files", "--others", "--exclude-standard", "--", "."),
    ("log", "--max-count=10", "--date=short", "--format=%h %ad %an: %s"),
)


def _repo(tmp_path: Path) -> Path:
    return git_repo(tmp_path / "repo", {"a.txt": "hello\n", "b.md": "# b\n"})


@pytest.mark.parametrize("vector", sorted(VECTORS))
def test_no_repository_configured_program_runs(tmp_path: Path, vector: str) -> None:
    live, quiet = tmp_path / "live", tmp_path / "quiet"
    live.mkdir()
    quiet.mkdir()
    # the vector is real: plain git runs the planted program
    repo = _repo(live)
    marker = live / "marker"
    command = plant(repo, vector, marker)
    try:
        git(repo, *command)
    except Exception:  # noqa: BLE001 - a program that fails may fail the command; only the marker matters
        pass
    assert marker.exists(), f"{vector} did not fire under plain git: the test proves nothing"
    # kiri's calls on the same repository run nothing
    repo = _repo(quiet)
    marker = quiet / "marker"
    plant(repo, vector, marker)
    runner = Git.open(repo)
    for args in KIRI_CALLS:
        try:
            runner.run(*args)
        except ToolError:
            pass  # e.g. no HEAD; what matters is that nothing ran
    assert not marker.exists(), marker.read_text()


def test_status_and_diff_leave_the_index_alone(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    os.utime(repo / "a.txt", (1, 1))  # stale stat data: a plain status or diff would rewrite the index
    index = repo / ".git" / "index"
    before = (index.read_bytes(), index.stat().st_mtime_ns)
    runner = Git.open(repo)
    assert runner.run("status", "--porcelain") == ""
    assert runner.run("diff-index", "-p", "HEAD") == runner.run("diff-files", "-p") == ""
    runner.run("diff", "--cached")
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before


def test_the_environment_cannot_point_git_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path)
    other = git_repo(tmp_path / "other", {"secret.txt": "other repository\n"})
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    assert "GIT_DIR" not in git_environment()
    assert Git.open(repo).run("ls-files").split() == ["a.txt", "b.md"]


def test_core_worktree_cannot_move_the_work_tree(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    other = git_repo(tmp_path / "other", {"secret.txt": "other\n"})
    with (repo / ".git" / "config").open("a") as f:
        f.write(f"[core]\n\tworktree = {other}\n")
    runner = Git.open(repo)
    assert runner.run("status", "--porcelain") == ""
    assert "secret.txt" not in runner.run("ls-files", "--others")


def test_a_gitdir_file_pointing_outside_is_refused(tmp_path: Path) -> None:
    other = git_repo(tmp_path / "other", {"secret.txt": "other\n"})
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".git").write_text(f"gitdir: {other / '.git'}\n")
    with pytest.raises(ForeignGitDir, match="not a worktree of this workspace"):
        Git.open(ws)
    (ws / ".git").write_text("gitdir: ../other/.git\n")  # relative, as git also reads it
    with pytest.raises(ForeignGitDir):
        locate(ws)


def test_a_symlinked_or_redirected_git_directory_is_refused(tmp_path: Path) -> None:
    other = git_repo(tmp_path / "other", {"secret.txt": "other\n"})
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".git").symlink_to(other / ".git")
    with pytest.raises(ForeignGitDir, match="symlink"):
        locate(ws)
    repo = _repo(tmp_path)
    (repo / ".git" / "commondir").write_text(str(other / ".git") + "\n")
    with pytest.raises(ForeignGitDir, match="commondir"):
        locate(repo)


def test_a_git_directory_elsewhere_in_the_workspace_is_refused(tmp_path: Path) -> None:
    # config and hooks in `store/` would be ordinary files to the gate, written without asking
    repo = _repo(tmp_path)
    (repo / ".git").rename(repo / "store")
    (repo / ".git").write_text("gitdir: store\n")
    with pytest.raises(ForeignGitDir):
        locate(repo)
    (repo / ".git").unlink()
    (repo / ".git").symlink_to("store")
    with pytest.raises(ForeignGitDir, match="symlink"):
        locate(repo)


def test_a_worktree_admin_directory_inside_the_workspace_proves_nothing(tmp_path: Path) -> None:
    other = git_repo(tmp_path / "other", {"secret.txt": "other\n"})
    ws = tmp_path / "ws"
    admin = ws / "admin"
    admin.mkdir(parents=True)
    (admin / "gitdir").write_text(f"{ws / '.git'}\n")
    (admin / "commondir").write_text(f"{other / '.git'}\n")
    (admin / "HEAD").write_text("ref: refs/heads/main\n")
    (ws / ".git").write_text("gitdir: admin\n")
    with pytest.raises(ForeignGitDir):
        locate(ws)


def test_a_linked_worktree_still_works(tmp_path: Path) -> None:
    main = _repo(tmp_path)
    linked = tmp_path / "linked"
    git(main, "worktree", "add", "-q", "-b", "side", str(linked))
    (linked / "a.txt").write_text("changed in the worktree\n")
    runner = Git.open(linked)
    assert runner.run("status", "--porcelain").strip() == "M a.txt"
    assert "+changed in the worktree" in runner.run("diff", "HEAD")


def test_a_forged_worktree_pointer_is_refused(tmp_path: Path) -> None:
    main = _repo(tmp_path)
    git(main, "worktree", "add", "-q", "-b", "side", str(tmp_path / "linked"))
    admin = main / ".git" / "worktrees" / "linked"
    ws = tmp_path / "ws"  # claims to be that worktree, but the admin directory names another .git file
    ws.mkdir()
    (ws / ".git").write_text(f"gitdir: {admin}\n")
    with pytest.raises(ForeignGitDir, match="not a worktree of this workspace"):
        locate(ws)


def test_no_repository_and_no_search_upwards(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "sub").mkdir()
    with pytest.raises(NotARepository):
        Git.open(repo / "sub")  # the repository above is not the workspace's
    (repo / "sub" / ".git").write_text("not a pointer\n")
    with pytest.raises(NotARepository, match="not a `gitdir: <path>` pointer"):
        locate(repo / "sub")


def test_driver_names_are_taken_from_config_keys() -> None:
    keys = ["core.bare", "filter.lfs.process", "filter.a.b.clean", "Filter.X.smudge", "filter.novalue"]
    names = {key.rsplit(".", 1)[0] for key, _ in driver_overrides(keys)}
    assert names == {"filter.lfs", "filter.a.b", "filter.X"}
    with pytest.raises(ToolError, match="cannot switch off"):
        driver_overrides(["filter.a=b.clean"])


def test_only_read_only_subcommands(tmp_path: Path) -> None:
    runner = Git.open(_repo(tmp_path))
    with pytest.raises(ValueError, match="read-only"):
        runner.run("commit", "-m", "x")
    with pytest.raises(ValueError, match="read-only"):
        runner.run("config", "core.fsmonitor", "evil")


def test_a_driver_that_cannot_be_switched_off_refuses_the_repository(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    prog = marker_program(tmp_path / "marker")
    with (repo / ".git" / "config").open("a") as f:
        f.write(f'[filter "a=b"]\n\tclean = {prog}\n')
    with pytest.raises(ToolError, match="cannot switch off"):
        Git.open(repo)
    assert not (tmp_path / "marker").exists()


def test_git_runs_without_kiris_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from tools.secrets import Secrets

    repo = _repo(tmp_path)
    seen: list[dict[str, str]] = []
    real_run = subprocess.run

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(dict(kwargs["env"]))  # type: ignore[arg-type]
        return real_run(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("tools.gitexec.subprocess.run", spy)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-git-0123456789")
    monkeypatch.setenv("DEPLOY_TOKEN", "deploy-token-0123456789")
    Git.open(repo, Secrets.collect(extra_names=("DEPLOY_TOKEN",))).run("status", "--short")
    assert seen and all("OPENAI_API_KEY" not in env and "DEPLOY_TOKEN" not in env for env in seen)
    assert all(env.get("GIT_TERMINAL_PROMPT") == "0" for env in seen)
