"""tools.secrets: the environment children get, and redaction of known secret values (whole and streamed)."""

from __future__ import annotations

import random

from tools.secrets import CREDENTIAL_VARS, REDACTED, Secrets
from tools.shell import run_command

KEY = "sk-unit-0123456789abcdef"
TOKEN = "ghp_unit_token_value_42"


def test_child_env_drops_the_key_variables_and_the_configured_ones() -> None:
    base = {"PATH": "/bin", "OPENAI_API_KEY": KEY, "KIRI_API_KEY": KEY, "DEPLOY_TOKEN": TOKEN, "HOME": "/h"}
    secrets = Secrets.collect(["DEPLOY_TOKEN"], env=base)
    env = secrets.child_env(base, extra={"PAGER": "cat", "OPENAI_API_KEY": "sneaked-in-via-extra"})
    assert env == {"PATH": "/bin", "HOME": "/h", "PAGER": "cat"}


def test_the_default_secrets_already_drop_kiris_own_variables() -> None:
    assert set(CREDENTIAL_VARS) == {"KIRI_API_KEY", "OPENAI_API_KEY"}
    assert Secrets().child_env({"OPENAI_API_KEY": KEY, "X": "1"}) == {"X": "1"}


def test_collect_knows_the_values_of_every_secret_variable_and_the_key_from_a_file() -> None:
    env = {"OPENAI_API_KEY": "sk-from-the-environment", "DEPLOY_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"}
    secrets = Secrets.collect(["DEPLOY_TOKEN"], ["sk-from-the-user-config"], env)
    text = f"{env['OPENAI_API_KEY']} {TOKEN} sk-from-the-user-config /usr/bin:/bin"
    assert secrets.redact(text) == f"{REDACTED} {REDACTED} {REDACTED} /usr/bin:/bin"


def test_short_values_are_not_secrets_and_the_longest_match_wins() -> None:
    secrets = Secrets(values=("main", "1", "", "abcdefgh", "abcdefgh-ijkl"))
    assert secrets.values == ("abcdefgh-ijkl", "abcdefgh")
    assert secrets.redact("on main: abcdefgh-ijkl, abcdefgh") == f"on main: {REDACTED}, {REDACTED}"


def test_without_secrets_text_and_json_pass_unchanged() -> None:
    value = {"a": ["x", {"b": "y"}], "n": 1}
    assert Secrets().redact_json(value) is value
    assert Secrets().redact("anything") == "anything"


def test_redact_json_keeps_the_shape() -> None:
    secrets = Secrets(values=(KEY,))
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"function": {"arguments": f'{{"k": "{KEY}"}}'}}],
    }
    redacted = secrets.redact_json(message)
    assert redacted == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"function": {"arguments": f'{{"k": "{REDACTED}"}}'}}],
    }
    assert KEY in message["tool_calls"][0]["function"]["arguments"]  # the input is not modified


def test_a_secret_split_across_stream_pieces_is_never_shown() -> None:
    secrets = Secrets(values=(KEY, TOKEN))
    text = f"first {KEY} then {TOKEN} and sk-unit-not-quite, the end sk-unit"
    rng = random.Random(7)
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, len(text)), 12))
        pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        stream = secrets.stream()
        shown = [stream.feed(p) for p in pieces] + [stream.flush()]
        assert "".join(shown) == secrets.redact(text)
        # at no moment was a piece of a key longer than its held-back prefix on the screen
        assert all(KEY not in "".join(shown[: i + 1]) for i in range(len(shown)))


def test_run_command_gives_the_child_no_secret(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("DEPLOY_TOKEN", TOKEN)
    plain = run_command("printenv OPENAI_API_KEY; echo token=$DEPLOY_TOKEN", tmp_path, 30)
    assert plain.exit_code == 0 and KEY not in plain.stdout and f"token={TOKEN}" in plain.stdout
    configured = run_command(
        "echo token=$DEPLOY_TOKEN", tmp_path, 30, secrets=Secrets.collect(["DEPLOY_TOKEN"])
    )
    assert configured.stdout == "token=\n"
