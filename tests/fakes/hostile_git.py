"""Hostile git repositories: each way a repository's git config can make a plain `git status`, `diff` or `log`
start a program, planted in a real repository with a program that only leaves a marker file.

`plant(repo, vector, marker)` configures one vector and returns the plain git command that fires it, so a test
can first prove the vector is live (the marker appears under plain git) and then that kiri's calls stay silent.
"""

from __future__ import annotations

import os
import stat
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

IDENTITY = ("-c", "user.name=Test", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false")


def git(repo: Path, *args: str) -> str:
    """Plain git, as a user would run it (no kiri options)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(
        ["git", *IDENTITY, *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout


def marker_program(marker: Path) -> Path:
    """An executable that appends its arguments to `marker` and copies stdin to stdout (a filter that works)."""
    script = marker.with_name(marker.name + ".sh")
    script.write_text(f'#!/bin/sh\necho "$0 $*" >> {marker}\ncat\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def _dirty(path: Path) -> None:
    """Change a tracked file but not its size, so status and diff must read it again (through its filter)."""
    data = path.read_bytes()
    path.write_bytes(data[:-2] + b"X\n")
    os.utime(path, (1, 1))


def _tracked(repo: Path) -> Path:
    """The first file the repository tracks."""
    return repo / git(repo, "ls-files").split()[0]


def _config(repo: Path, text: str) -> None:
    with (repo / ".git" / "config").open("a") as f:
        f.write(textwrap.dedent(text))


def _attributes(repo: Path, line: str) -> None:
    info = repo / ".git" / "info"
    info.mkdir(exist_ok=True)
    (info / "attributes").write_text(line + "\n")


def fsmonitor(repo: Path, prog: Path) -> list[str]:
    _config(repo, f"[core]\n\tfsmonitor = {prog}\n")
    return ["status", "--porcelain"]


def filter_clean(repo: Path, prog: Path) -> list[str]:
    _config(repo, f'[filter "evil"]\n\tclean = {prog}\n')
    _attributes(repo, "* filter=evil")
    _dirty(_tracked(repo))
    return ["status", "--porcelain"]


def filter_process(repo: Path, prog: Path) -> list[str]:
    _config(repo, f'[filter "long-running"]\n\tprocess = {prog}\n\trequired = true\n')
    _attributes(repo, "* filter=long-running")
    _dirty(_tracked(repo))
    return ["diff", "HEAD"]


def filter_committed_attributes(repo: Path, prog: Path) -> list[str]:
    # the driver's name comes from a committed .gitattributes, its program from a file the config includes
    (repo / ".gitattributes").write_text("* filter=odd.name\n")
    (repo / "extra.cfg").write_text(f'[filter "odd.name"]\n\tclean = {prog}\n')
    _config(repo, "[include]\n\tpath = ../extra.cfg\n")
    _dirty(_tracked(repo))
    return ["status", "--porcelain"]


def filter_conditional_include(repo: Path, prog: Path) -> list[str]:
    (repo / ".git" / "cond.cfg").write_text(f'[filter "cond"]\n\tclean = {prog}\n')
    _config(repo, '[includeIf "gitdir:/"]\n\tpath = cond.cfg\n')
    _attributes(repo, "* filter=cond")
    _dirty(_tracked(repo))
    return ["diff"]


def textconv(repo: Path, prog: Path) -> list[str]:
    _config(repo, f'[diff "evil"]\n\ttextconv = {prog}\n')
    _attributes(repo, "* diff=evil")
    _dirty(_tracked(repo))
    return ["diff", "HEAD"]


def external_diff_driver(repo: Path, prog: Path) -> list[str]:
    _config(repo, f'[diff "ext"]\n\tcommand = {prog}\n')
    _attributes(repo, "* diff=ext")
    _dirty(_tracked(repo))
    return ["diff", "HEAD"]


def external_diff(repo: Path, prog: Path) -> list[str]:
    _config(repo, f"[diff]\n\texternal = {prog}\n")
    _dirty(_tracked(repo))
    return ["diff", "HEAD"]


def hooks_path(repo: Path, prog: Path) -> list[str]:
    hooks = repo / "hooks-here"
    hooks.mkdir()
    (hooks / "post-index-change").symlink_to(prog)
    _config(repo, f"[core]\n\thooksPath = {hooks}\n")
    os.utime(_tracked(repo), (1, 1))  # a stat change: status refreshes and rewrites the index
    return ["status", "--porcelain"]


def index_hook(repo: Path, prog: Path) -> list[str]:
    (repo / ".git" / "hooks" / "post-index-change").symlink_to(prog)
    os.utime(_tracked(repo), (1, 1))
    return ["status", "--porcelain"]


def signature_check(repo: Path, prog: Path) -> list[str]:
    # a commit carrying a (fake) signature: log.showSignature makes `git log` run gpg.program on it
    body = git(repo, "cat-file", "commit", "HEAD")
    header, _, message = body.partition("\n\n")
    signed = f"{header}\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n -----END PGP SIGNATURE-----\n\n{message}"
    oid = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo, input=signed, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    git(repo, "update-ref", "HEAD", oid)
    _config(repo, f"[log]\n\tshowSignature = true\n[gpg]\n\tprogram = {prog}\n")
    return ["log", "-1", "--format=%h %s"]


def submodule_filter(repo: Path, prog: Path) -> list[str]:
    # a submodule's own config defines a driver the superproject's config does not name
    sub = repo.parent / (repo.name + "-sub")
    sub.mkdir()
    git(sub, "init", "-q", "-b", "main")
    (sub / "s.txt").write_text("s\n")
    git(sub, "add", ".")
    git(sub, "commit", "-qm", "sub")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "sub")
    git(repo, "commit", "-qm", "add sub")
    sub_git = repo / ".git" / "modules" / "sub"
    with (sub_git / "config").open("a") as f:
        f.write(f'[filter "inner"]\n\tclean = {prog}\n')
    (sub_git / "info").mkdir(exist_ok=True)
    (sub_git / "info" / "attributes").write_text("* filter=inner\n")
    _dirty(repo / "sub" / "s.txt")
    return ["status", "--porcelain"]


VECTORS: dict[str, Callable[[Path, Path], list[str]]] = {
    f.__name__.replace("_", "-"): f
    for f in (
        fsmonitor,
        filter_clean,
        filter_process,
        filter_committed_attributes,
        filter_conditional_include,
        textconv,
        external_diff_driver,
        external_diff,
        hooks_path,
        index_hook,
        signature_check,
        submodule_filter,
    )
}


def plant(repo: Path, vector: str, marker: Path) -> list[str]:
    """Configure `vector` in `repo` with a program that writes `marker`; returns the git command firing it."""
    return VECTORS[vector](repo, marker_program(marker))
