"""Prompt files and their loader."""

from __future__ import annotations

import re

import pytest

from prompts import Prompt, PromptError, available, load_prompt


@pytest.mark.parametrize("name", ["system", "fix", "compact"])
def test_shipped_prompts_load_with_semver_and_description(name):
    prompt = load_prompt(name)
    assert prompt.name == name
    assert re.fullmatch(r"\d+\.\d+\.\d+", prompt.version)
    assert prompt.description and prompt.template.strip()


def test_available_lists_every_shipped_prompt():
    assert {"system", "fix", "compact"} <= set(available())


def test_render_fills_placeholders_and_refuses_missing_ones():
    prompt = Prompt("t", "1.0.0", "d", "In {{ workspace }} on {{os}}; {not a placeholder} {{ workspace }}")
    assert prompt.render(workspace="/w", os="Linux") == "In /w on Linux; {not a placeholder} /w\n"
    with pytest.raises(PromptError, match="needs os"):
        prompt.render(workspace="/w")


def test_system_prompt_states_the_working_rules():
    text = load_prompt("system").render(workspace="/w", os="Linux", date="2025-01-01", git="branch main",
                                        project_instructions="")  # fmt: skip
    for rule in ("read a file before editing", "minimal", "run the relevant tests"):
        assert rule in text


def test_unknown_or_invalid_names_are_clear_errors():
    with pytest.raises(PromptError, match="no prompt named"):
        load_prompt("nope")
    with pytest.raises(PromptError, match="invalid prompt name"):
        load_prompt("../system")
