"""The shell lexer and parser under the deny rules: words as bash reads them, and unreadable text refused."""

from __future__ import annotations

import pytest

from tools.shsyntax import Group, ShellSyntaxError, Simple, parse


def _argv(text: str) -> list[list[str]]:
    """The literal words of each simple command, in order (unknown parts shown raw)."""
    out: list[list[str]] = []
    for pipeline in parse(text).items:
        for stage in pipeline.stages:
            assert isinstance(stage, Simple)
            out.append(["".join(p.text for p in w.parts) for w in stage.words])
    return out


@pytest.mark.parametrize(
    ("text", "argv"),
    [
        ("echo a#b; rm x", [["echo", "a#b"], ["rm", "x"]]),  # '#' inside a word is no comment
        ("echo x # rm -rf /", [["echo", "x"]]),
        ("r\\m -rf '/'", [["rm", "-rf", "/"]]),
        ('r""m "-r"f', [["rm", "-rf"]]),
        ("$'\\x72\\155' -f", [["rm", "-f"]]),
        ("r\\\nm", [["rm"]]),
        ("a|&b", [["a"], ["b"]]),
        ("[ -f x ] && echo y", [["[", "-f", "x", "]"], ["echo", "y"]]),
    ],
)
def test_words_are_read_as_bash_reads_them(text: str, argv: list[list[str]]) -> None:
    assert _argv(text) == argv


def test_redirections_keep_their_targets_and_heredoc_bodies() -> None:
    (pipeline,) = parse("cat <<'EOF' 2>&1 >/dev/sda\nrm -rf /\nEOF").items
    (cmd,) = pipeline.stages
    assert isinstance(cmd, Simple)
    ops = [(r.op, r.fd, r.target.raw) for r in cmd.redirects]
    assert ops == [("<<", "", "'EOF'"), (">&", "2", "1"), (">", "", "/dev/sda")]
    assert cmd.redirects[0].heredoc == "rm -rf /\n" and cmd.redirects[0].heredoc_literal


def test_expansions_are_parts_whose_value_is_not_known() -> None:
    (pipeline,) = parse('echo $(rm -rf /) "$HOME" ${x} `id` r{m,}').items
    (cmd,) = pipeline.stages
    assert isinstance(cmd, Simple)
    kinds = [[p.kind for p in w.parts] for w in cmd.words[1:]]
    assert kinds == [["sub"], ["var", "quoted"], ["var"], ["sub"], ["lit", "brace"]]
    assert cmd.words[1].bodies == ["rm -rf /"]


def test_groups_functions_and_compound_commands_keep_the_commands_inside() -> None:
    script = parse("f() { rm a; }; (cd b && rm c); if x; then rm d; fi; case y in z) rm e;; esac")
    kinds = [type(p.stages[0]).__name__ for p in script.items]
    assert kinds == ["FuncDef", "Group", "Simple", "Simple", "Simple", "Group"]
    assert isinstance(script.items[1].stages[0], Group) and script.items[1].stages[0].subshell


@pytest.mark.parametrize(
    "text",
    [
        "echo 'open",
        'echo "open',
        "echo $(open",
        "cat <<EOF\nno end",
        "case(4)1)",
        "{ " * 200 + "x",
        "echo `x",
        "a )",
    ],
)
def test_text_that_cannot_be_read_with_confidence_raises(text: str) -> None:
    with pytest.raises(ShellSyntaxError):
        parse(text)
