"""The commands that run other commands, and how to find the command inside (`sudo -u x -- rm` runs `rm`).

Data only: `tools.shwalk` reads these tables while it unwraps a command.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Wrapper:
    valued: str = ""  # short options that take a value
    long_valued: frozenset[str] = frozenset()
    positionals: int = 0  # words between the options and the command (timeout's duration)
    chdir: frozenset[str] = frozenset()  # options that set the command's working directory
    assigns: bool = False  # NAME=value words may come before the command
    split: frozenset[str] = frozenset()  # options whose value is split into more words (env -S)


WRAPPERS: dict[str, Wrapper] = {
    "sudo": Wrapper(
        "CDghpRrTtUu",
        frozenset({"--chdir", "--group", "--host", "--prompt", "--chroot", "--role", "--type", "--user"})
        | frozenset({"--other-user", "--close-from", "--command-timeout"}),
        chdir=frozenset({"-D", "--chdir"}),
        assigns=True,
    ),
    "doas": Wrapper("aCu"),
    "env": Wrapper(
        "uCS",
        frozenset({"--unset", "--chdir", "--split-string"}),
        chdir=frozenset({"-C", "--chdir"}),
        assigns=True,
        split=frozenset({"-S", "--split-string"}),
    ),
    "command": Wrapper(),
    "builtin": Wrapper(),
    "exec": Wrapper("a"),
    "nice": Wrapper("n", frozenset({"--adjustment"})),
    "nohup": Wrapper(),
    "timeout": Wrapper("sk", frozenset({"--signal", "--kill-after"}), positionals=1),
    "time": Wrapper("fo", frozenset({"--format", "--output"})),
    "stdbuf": Wrapper("ioe", frozenset({"--input", "--output", "--error"})),
    "ionice": Wrapper("cnpPu", frozenset({"--class", "--classdata", "--pid", "--pgid", "--uid"})),
    "setsid": Wrapper(),
    "unbuffer": Wrapper(),
    "pkexec": Wrapper("", frozenset({"--user"})),
    "fakeroot": Wrapper("lisb", frozenset({"--lib", "--faked"})),
    "chroot": Wrapper("", frozenset({"--userspec", "--groups"}), positionals=1),
    "taskset": Wrapper("", positionals=1),
    "coproc": Wrapper(),
}
# commands that set variables in this shell; `for` and `select` appear here as the parser keeps them as words
SETS_VARIABLES = frozenset(
    {"export", "declare", "typeset", "local", "readonly", "read", "mapfile", "readarray", "unset", "for"}
    | {"select", "getopts", "printf", "let"}
)
GIT_VALUED = frozenset(
    {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--config-env"}
)
XARGS_VALUED = "adEILnPs"
XARGS_LONG_VALUED = frozenset(
    {"--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars", "--process-slot-var"}
)

# The commands of the built-in rules, looked for among the words of a command kiri does not know.
GUESSED = frozenset(
    {"rm", "git", "dd", "chmod", "chown", "chgrp", "mkfs", "mke2fs", "mkswap", "wipefs", "shred"}
)
# Commands whose words are data, never a command they run.
NEVER_RUN = frozenset(
    {"echo", "printf", "grep", "egrep", "fgrep", "rg", "man", "which", "type", "whatis", "apropos", "help"}
    | {"cat", "less", "head", "tail", "wc", "sort", "uniq", "sed", "awk", "tr", "cut", "test", "[", "[["}
    | {"pip", "pip3", "npm", "apt", "apt-get", "brew", "dnf", "yum", "conda", "uv", "poetry", "cargo", "go"}
    | {"for", "case", "select", "export", "declare", "local", "readonly", "unset", "alias", "trap", "cd"}
)
