"""The registry: schemas valid as JSON Schema, bad calls become error results, output is capped."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tools import PermissionDenied, Registry, ToolContext, ToolError
from tools.schema import spec_for

EXAMPLES = {
    "read_file": {"path": "a.txt", "offset": 2, "limit": 10},
    "list_dir": {"path": ".", "depth": 1},
    "glob": {"pattern": "**/*.py"},
    "search": {"pattern": "def \\w+", "path": "src", "glob": "*.py", "ignore_case": True, "context": 2},
    "write_file": {"path": "a.txt", "content": "x\n"},
    "edit_file": {"path": "a.txt", "old": "x", "new": "y", "replace_all": False},
    "apply_patch": {"patch": "--- a/a\n+++ b/a\n@@ -1 +1 @@\n-x\n+y\n"},
    "run_shell": {"command": "ls", "timeout": 5},
    "git_status": {},
    "git_diff": {"path": "src"},
    "git_log": {"n": 3},
}


def test_every_tool_has_an_example(registry: Registry) -> None:
    assert sorted(registry.names()) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_schema_is_valid_json_schema_and_accepts_the_example(registry: Registry, name: str) -> None:
    entry = next(s for s in registry.schemas() if s["function"]["name"] == name)
    assert entry["type"] == "function"
    params = entry["function"]["parameters"]
    jsonschema.Draft202012Validator.check_schema(params)
    jsonschema.Draft7Validator.check_schema(params)
    jsonschema.validate(EXAMPLES[name], params, cls=jsonschema.Draft202012Validator)
    assert entry["function"]["description"]
    assert all(p["description"] for p in params["properties"].values())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**EXAMPLES[name], "bogus": 1}, params)


def test_schema_types_come_from_hints_and_docstring(registry: Registry) -> None:
    params = registry.spec("search").schema()["function"]["parameters"]
    assert params["required"] == ["pattern"]
    assert params["properties"]["ignore_case"] == {
        "type": "boolean",
        "description": "Match without regard to case.",
        "default": False,
    }
    assert params["properties"]["glob"]["type"] == "string"  # `str | None` is optional, not a union type
    assert "default" not in params["properties"]["glob"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"path": ', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ({}, "missing required argument 'path'"),
        ({"path": "a.txt", "colour": "red"}, "unknown argument(s) colour"),
        ({"path": 7}, "'path' must be a string, got an integer"),
        ({"path": "a.txt", "offset": "2"}, "'offset' must be an integer, got a string"),
        ({"path": "a.txt", "offset": True}, "'offset' must be an integer, got a boolean"),
        ({"path": "a.txt", "limit": 2.5}, "'limit' must be an integer, got a number"),
    ],
)
def test_bad_arguments_return_an_error_result(
    registry: Registry, ctx: ToolContext, arguments, expected
) -> None:
    result = registry.call("read_file", arguments, ctx)
    assert result.is_error and not result.denied
    assert expected in result.content


def test_unknown_tool_lists_the_real_ones(registry: Registry, ctx: ToolContext) -> None:
    result = registry.call("delete_everything", "{}", ctx)
    assert result.is_error
    assert "unknown tool 'delete_everything'" in result.content and "read_file" in result.content


def test_empty_argument_string_means_no_arguments(
    registry: Registry, ctx: ToolContext, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("x\n")
    assert not registry.call("list_dir", "", ctx).is_error
    assert "a.txt" in registry.call("list_dir", None, ctx).content


def test_integral_float_is_accepted_for_integer(
    registry: Registry, ctx: ToolContext, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("one\ntwo\n")
    result = registry.call("read_file", json.dumps({"path": "a.txt", "offset": 2.0}), ctx)
    assert not result.is_error and "two" in result.content and "one" not in result.content


def _shout(ctx: ToolContext, text: str, times: int = 1) -> str:
    """Repeat text, or fail on request.

    Args:
        text: What to repeat; "deny" and "fail" raise instead.
        times: How often.
    """
    if text == "deny":
        raise PermissionDenied("not today")
    if text == "fail":
        raise ToolError("it broke")
    if text == "missing":
        open(ctx.workspace / "no-such-file")  # noqa: SIM115 - an OSError from the environment
    return text * times


def test_tool_errors_and_denials_become_results(ctx: ToolContext) -> None:
    reg = Registry([_shout])
    denied = reg.call("_shout", {"text": "deny"}, ctx)
    assert denied.denied and denied.is_error and "Permission denied: not today" in denied.content
    failed = reg.call("_shout", {"text": "fail"}, ctx)
    assert failed.is_error and not failed.denied and failed.content == "Error: it broke"
    missing = reg.call("_shout", {"text": "missing"}, ctx)
    assert missing.is_error and "No such file" in missing.content


def test_output_is_capped_keeping_head_and_tail(ctx: ToolContext) -> None:
    reg = Registry([_shout], max_chars=1000)
    result = reg.call("_shout", {"text": "0123456789", "times": 1000}, ctx)
    assert len(result.content) < 1100
    assert result.content.startswith("0123456789") and result.content.endswith("0123456789")
    assert "characters cut from the middle" in result.content


def test_a_parameter_without_description_is_refused_at_registration() -> None:
    def bad(ctx: ToolContext, path: str) -> str:
        """Do something.

        Args:
            other: Not the parameter.
        """
        return path

    with pytest.raises(TypeError, match="'path' is not described"):
        spec_for(bad)


def test_duplicate_names_are_refused() -> None:
    reg = Registry([_shout])
    with pytest.raises(ValueError, match="registered twice"):
        reg.register(_shout)


def test_arguments_nested_too_deeply_are_an_error_result(registry: Registry, ctx: ToolContext) -> None:
    for arguments in ("[" * 200_000 + "]" * 200_000, '{"path": ' + "[" * 100_000 + "]" * 100_000 + "}"):
        result = registry.call("read_file", arguments, ctx)
        assert result.is_error and "nested too deeply" in result.content


@pytest.mark.parametrize(
    "arguments",
    ['{"path": "x\\ud800.txt", "content": "hi"}', '{"path": "ok.txt", "content": ["\\udfff"]}',
     '{"path\\udc80": "ok.txt", "content": "hi"}'],
)  # fmt: skip
def test_lone_surrogates_in_arguments_are_an_error_result(
    registry: Registry, ctx: ToolContext, workspace: Path, arguments: str
) -> None:
    result = registry.call("write_file", arguments, ctx)
    assert result.is_error and "lone surrogate" in result.content
    result.content.encode("utf-8")  # the message itself can be stored and printed
    assert not (workspace / "ok.txt").exists()


def test_a_surrogate_pair_is_an_ordinary_character(
    registry: Registry, ctx: ToolContext, workspace: Path
) -> None:
    result = registry.call("write_file", '{"path": "e.txt", "content": "\\ud83d\\ude00"}', ctx)
    assert not result.is_error and (workspace / "e.txt").read_text() == "😀"
