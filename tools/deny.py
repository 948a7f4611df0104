"""Deny rules: shell commands refused in every approval mode, matched on what the shell will run.

A rule looks at the analysis of a command (`tools.shwalk`): each command it reaches, with wrappers, quoting,
escapes, option spellings and paths normalised. It answers YES (refuse), NO, or MAYBE when part of the command is
only known when it runs and could make it match; a MAYBE is refused too, with a message asking for the command
written out literally. This is a guard rail against mistakes and obvious rewrites, not a sandbox: code in files,
other interpreters (`python -c`) and commands assembled at run time can still do anything the user can.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from tools.shsyntax import ShellSyntaxError, words
from tools.shwalk import SHELLS, Analysis, Arg, Invocation, analyse, resolve

NO, MAYBE, YES = 0, 1, 2  # ordered, so the strongest answer of several is their max

Matcher = Callable[[Analysis, "str | None"], int]


@dataclass(frozen=True)
class DenyRule:
    """A refusal: `match` weighs an analysed command; `trigger` spots where it might apply in unreadable text."""

    label: str
    match: Matcher
    trigger: re.Pattern[str]


@dataclass(frozen=True)
class Shape:
    """A command's arguments with options normalised: `-rf` is -r and -f, `--recursive` is -r for rm."""

    flags: frozenset[str]
    positionals: tuple[Arg, ...]
    unknown: bool  # a word only known when it runs stands before `--`, so it could be any option


_RM_LONG = {
    "--recursive": "-r",
    "--force": "-f",
    "--dir": "-d",
    "--verbose": "-v",
    "--interactive": "--interactive",
    "--one-file-system": "--one-file-system",
    "--no-preserve-root": "--no-preserve-root",
    "--preserve-root": "--preserve-root",
}
_CH_LONG = {
    "--recursive": "-R",
    "--reference": "--reference",
    "--changes": "-c",
    "--silent": "-f",
    "--quiet": "-f",
    "--verbose": "-v",
    "--dereference": "--dereference",
    "--no-dereference": "-h",
    "--from": "--from",
    "--preserve-root": "--preserve-root",
    "--no-preserve-root": "--no-preserve-root",
}
_PUSH_LONG = {
    "--force": "-f",
    "--force-with-lease": "-f",
    "--force-if-includes": "-f",
    "--mirror": "-f",  # force-updates every ref on the remote
    "--follow-tags": "--follow-tags",
    "--all": "--all",
    "--atomic": "--atomic",
    "--tags": "--tags",
    "--delete": "-d",
    "--dry-run": "-n",
    "--set-upstream": "-u",
}
_LONG = {"rm": _RM_LONG, "chmod": _CH_LONG, "chown": _CH_LONG, "chgrp": _CH_LONG}
_RAW_DISK = re.compile(r"/dev/(sd|hd|vd|xvd|nvme|mmcblk|disk|loop|md|dm-|mapper/|nbd|rbd)")
_HARMLESS_DEVICES = frozenset(
    {"/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/full"}
)


def _long_map(inv: Invocation) -> dict[str, str]:
    if inv.name == "git" and inv.args and inv.args[0].value == "push":
        return _PUSH_LONG
    return _LONG.get(inv.name, {})


def _long(name: str, table: dict[str, str]) -> str:
    # GNU getopt and git take any unambiguous prefix of a long option: `rm --rec --fo /`
    if name in table:
        return table[name]
    meanings = {table[k] for k in table if k.startswith(name)}
    return meanings.pop() if len(meanings) == 1 and len(name) > 2 else name


def shape(args: tuple[Arg, ...] | list[Arg], table: dict[str, str]) -> Shape:
    flags: set[str] = set()
    positionals: list[Arg] = []
    unknown = False
    options = True
    for a in args:
        v = a.value
        if not options or v is None:
            unknown = unknown or (options and v is None)
            positionals.append(a)
        elif v == "--":
            options = False
        elif v.startswith("--") and len(v) > 2:
            name = v.partition("=")[0]
            flags.add(_long(name, table))
            flags.add(v)
        elif v.startswith("-") and len(v) > 1:
            flags.update("-" + ch for ch in v[1:])
        else:
            positionals.append(a)
    return Shape(frozenset(flags), tuple(positionals), unknown)


def _protected(arg: Arg, inv: Invocation, home: str | None) -> bool | None:
    """Whether the path is `/`, a top-level directory, home or above it, or a glob over one's entries.

    Symlinks count: one the command itself makes (`ln -s / r`), and any on disk now (`/proc/self/root`).
    """
    path = resolve(arg.value, inv.cwd)
    if path is None:
        return None
    if arg.glob:
        parts = path.split("/")
        first = next((i for i, p in enumerate(parts) if re.search(r"[*?\[]", p)), len(parts))
        path = "/".join(parts[:first]) or "/"
    for link, target in inv.links.items():
        if path == link or path.startswith(link + "/"):
            path = resolve(target + path[len(link) :], "/") or path
    return any(_protected_dir(p, home) for p in {path, os.path.realpath(path)})


def _protected_dir(path: str, home: str | None) -> bool:
    if path == "/" or path.count("/") == 1:
        return True
    return home is not None and (path == home or home.startswith(path + "/"))


def _sure(inv: Invocation, found: int) -> int:
    return NO if inv.guessed and found == MAYBE else found


def _per_invocation(check: Callable[[Invocation, str | None], int]) -> Matcher:
    def match(analysis: Analysis, home: str | None) -> int:
        return max((_sure(inv, check(inv, home)) for inv in analysis.invocations), default=NO)

    return match


def _recursive_delete(inv: Invocation, home: str | None, names: tuple[str, ...], flag: str, skip: int) -> int:
    if inv.name not in names:
        return NO
    s = shape(inv.args, _long_map(inv))
    if "--no-preserve-root" in s.flags:
        return YES
    targets = (
        s.positionals if "--reference" in {f.partition("=")[0] for f in s.flags} else s.positionals[skip:]
    )
    found = [_protected(a, inv, home) for a in targets]
    recursive = flag in s.flags or (flag == "-r" and "-R" in s.flags)
    if recursive and True in found:
        return YES
    if (recursive or s.unknown) and (any(f is not False for f in found) or s.unknown):
        return MAYBE
    return NO


def _rm(inv: Invocation, home: str | None) -> int:
    return _recursive_delete(inv, home, ("rm",), "-r", 0)


def _chmod(inv: Invocation, home: str | None) -> int:
    return _recursive_delete(inv, home, ("chmod", "chown", "chgrp"), "-R", 1)


def _git_push(inv: Invocation, home: str | None) -> int:
    if inv.name != "git" or not inv.args:
        return NO
    if inv.args[0].value is None:
        return MAYBE
    if inv.args[0].value != "push":
        return NO
    s = shape(inv.args[1:], _PUSH_LONG)
    if "-f" in s.flags or any(a.value is not None and a.value.startswith("+") for a in s.positionals):
        return YES
    return MAYBE if s.unknown or any(a.value is None for a in s.positionals) else NO


def _mkfs(inv: Invocation, home: str | None) -> int:
    name = inv.name
    return YES if name in ("mkfs", "mke2fs", "mkswap", "wipefs") or name.startswith("mkfs.") else NO


def _dd(inv: Invocation, home: str | None) -> int:
    if inv.name != "dd":
        return NO
    result = NO
    for a in inv.args:
        if a.value is None:
            result = MAYBE
        elif a.value.startswith("of="):
            path = resolve(a.value[3:], inv.cwd)
            if path is None:
                result = MAYBE
            elif (
                path.startswith("/dev/") and path not in _HARMLESS_DEVICES and not path.startswith("/dev/fd/")
            ):
                return YES
    return result


def _disk_path(path: str | None) -> int:
    return MAYBE if path is None else YES if _RAW_DISK.match(path) else NO


def _raw_disk(analysis: Analysis, home: str | None) -> int:
    result = max((_disk_path(path) for path, _ in analysis.writes), default=NO)
    for inv in analysis.invocations:
        if inv.name in ("tee", "cp", "mv", "install", "shred", "blkdiscard"):
            s = shape(inv.args, {})
            targets = s.positionals[-1:] if inv.name in ("cp", "mv", "install") else s.positionals
            result = max([result, *(_disk_path(resolve(a.value, inv.cwd)) for a in targets)])
    return result


def _fork_bomb(analysis: Analysis, home: str | None) -> int:
    return YES if analysis.recursive_functions else NO


def _builtin(label: str, match: Matcher, trigger: str) -> DenyRule:
    return DenyRule(label, match, re.compile(trigger))


DEFAULT_DENY_RULES: tuple[DenyRule, ...] = (
    _builtin("rm -rf /", _per_invocation(_rm), r"\brm\b|\bfind\b"),
    _builtin("git push --force", _per_invocation(_git_push), r"\bgit\b"),
    _builtin("mkfs", _per_invocation(_mkfs), r"\bmk(fs|e2fs|swap)|\bwipefs\b"),
    _builtin("fork bomb", _fork_bomb, r"\(\s*\)"),
    _builtin("dd of=/dev/", _per_invocation(_dd), r"\bdd\b"),
    _builtin("write to a raw disk", _raw_disk, r"/dev/"),
    _builtin("chmod/chown -R on /", _per_invocation(_chmod), r"\bch(mod|own|grp)\b"),
)


@dataclass(frozen=True)
class _Stage:
    name: str
    positionals: tuple[str, ...]
    flags: frozenset[str]


def _match_stage(p: _Stage, inv: Invocation) -> int:
    if not (inv.name in SHELLS if p.name in SHELLS else fnmatchcase(inv.name, p.name)):
        return NO
    s = shape(inv.args, _long_map(inv))
    result = YES
    for i, pattern in enumerate(p.positionals):
        if i >= len(s.positionals):
            return MAYBE if s.unknown else NO
        value = s.positionals[i].value
        if value is None:
            result = MAYBE
        elif not fnmatchcase(value, pattern):
            return NO
    if p.flags - s.flags:
        if not s.unknown:
            return NO
        result = MAYBE
    return result


def _pattern_matcher(stages: list[_Stage]) -> Matcher:
    def match(analysis: Analysis, home: str | None) -> int:
        if len(stages) == 1:
            return max((_sure(inv, _match_stage(stages[0], inv)) for inv in analysis.invocations), default=NO)
        result = NO
        for pipeline in analysis.pipelines:
            # best[k]: the surest way the first k pattern stages match, in order, among the stages seen so far
            best = [YES] + [NO] * len(stages)
            for invocations in pipeline:
                for k in range(len(stages) - 1, -1, -1):
                    m = max((_match_stage(stages[k], inv) for inv in invocations), default=NO)
                    best[k + 1] = max(best[k + 1], min(best[k], m))
            result = max(result, best[-1])
        return result

    return match


def _texts(analysis: Analysis) -> list[str]:
    """What a `re:` rule is matched against: each command, and each pipeline, as normalised text."""
    texts = [" ".join(a.text for a in inv.argv) for inv in analysis.invocations]
    for pipeline in analysis.pipelines:
        for pick in (0, -1):
            texts.append(" | ".join(" ".join(a.text for a in s[pick].argv) if s else "" for s in pipeline))
    return texts


def _regex_rule(label: str, regex: re.Pattern[str]) -> DenyRule:
    def match(analysis: Analysis, home: str | None) -> int:
        return YES if any(regex.search(t) for t in _texts(analysis)) else NO

    return DenyRule(label, match, regex)


def deny_rule(pattern: str | re.Pattern[str]) -> DenyRule:
    """A rule from configuration: `re:<regex>`, a compiled regex, or a plain command pattern.

    A plain pattern is a command's words: its name, then words that must come first among its arguments
    (shell globs allowed: `git push*`), and options it must have in any order or spelling (`rm -rf` matches
    `rm -f -r` and `rm --recursive --force`). `a | b` matches a pipeline with a stage running `a` piped, at
    some point, into one running `b`; any shell name (`sh`) stands for every shell.
    """
    if isinstance(pattern, re.Pattern):
        return _regex_rule(pattern.pattern, pattern)
    if pattern.startswith("re:"):
        try:
            return _regex_rule(pattern[3:], re.compile(pattern[3:]))
        except re.error as exc:
            raise ValueError(f"invalid deny pattern {pattern!r}: {exc}") from exc
    try:
        tokens = [w.raw if not w.parts else "".join(p.text for p in w.parts) for w in words(pattern)]
    except ShellSyntaxError as exc:
        raise ValueError(f"invalid deny pattern {pattern!r}: {exc}") from exc
    groups: list[list[str]] = [[]]
    for token in tokens:
        if token in ("|", "|&"):
            groups.append([])
        else:
            groups[-1].append(token)
    if not any(groups):
        raise ValueError("empty deny pattern")
    if not all(groups):
        raise ValueError(f"invalid deny pattern {pattern!r}: an empty stage around '|'")
    stages = []
    for group in groups:
        name = group[0].rstrip("/").rsplit("/", 1)[-1] or group[0]
        args = [Arg(w, w) for w in group[1:]]
        table = _PUSH_LONG if name == "git" and group[1:2] == ["push"] else _LONG.get(name, {})
        s = shape(args, table)
        stages.append(_Stage(name, tuple(a.text for a in s.positionals), s.flags))
    trigger = re.compile(r"(?<![\w.-])(" + "|".join(_trigger_word(s.name) for s in stages) + r")(?![\w-])")
    return DenyRule(pattern, _pattern_matcher(stages), trigger)


def _trigger_word(name: str) -> str:
    if name in SHELLS:
        return "|".join(sorted(SHELLS))
    return re.escape(name).replace(r"\*", r"\S*").replace(r"\?", r"\S")


def check(
    command: str, rules: tuple[DenyRule, ...], workspace: str, home: str | None, cdpath: str | None = None
) -> str | None:
    """Why `command` is refused, or None when no rule stands in its way."""
    analysis = analyse(command, workspace, resolve(home, "/") if home else None, cdpath)
    doubtful: str | None = None
    for rule in rules:
        found = rule.match(analysis, home)
        if found == YES:
            return f"command matches the deny rule '{rule.label}' and is never run (in any approval mode)"
        if found == MAYBE and doubtful is None:
            doubtful = rule.label
    # text kiri cannot read: refused only where a rule's command shows through its quotes and escapes
    bare = [re.sub(r"[\\'\"]", "", text) for text in analysis.unparsed]
    unreadable = next((r.label for r in rules for text in bare if r.trigger.search(text)), None)
    if not (analysis.unknown or doubtful or unreadable):
        return None
    if analysis.unknown:
        reason, what = analysis.unknown[0], "the deny rules"
    elif doubtful:
        reason, what = "part of it is only known when it runs", f"the deny rule '{doubtful}'"
    else:
        reason, what = "it is not shell kiri can read with confidence", f"the deny rule '{unreadable}'"
    return (
        f"command cannot be checked against {what} ({reason}), so it is refused in every approval mode; "
        "write the command out literally, without $VAR, $(...), eval or code piped into a shell"
    )
