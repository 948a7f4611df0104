"""Session commands on databases written through memory.Store: list, show, rm, export, and bad databases."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from memory import Store
from tests.agent.conftest import Outcome, Seeded

Run = Callable[..., Outcome]


def _ok(outcome: Outcome) -> Outcome:
    assert outcome.code == 0, (outcome.out, outcome.err)
    assert "Traceback" not in outcome.err
    return outcome


def _one_line_error(outcome: Outcome, *fragments: str, code: int = 2) -> None:
    assert outcome.code == code, (outcome.out, outcome.err)
    assert outcome.err.startswith("error: ") and outcome.err.count("\n") == 1, outcome.err
    assert "Traceback" not in outcome.out + outcome.err
    for fragment in fragments:
        assert fragment in outcome.err, outcome.err


def test_sessions_lists_this_project_newest_first(run_cli: Run, seeded: Seeded) -> None:
    out = _ok(run_cli(["--db", seeded.url, "sessions"], cwd=seeded.project)).out.splitlines()
    assert out[0].split() == ["ID", "STARTED", "PROJECT", "MODEL", "PROMPT", "MSGS", "STATUS", "TITLE"]
    assert [line.split()[0] for line in out[1:]] == [seeded.second[:8], seeded.first[:8]]
    first = out[2]
    assert (
        "gpt-4o-mini" in first
        and "1.2.0" in first
        and "done" in first
        and "Say goodbye instead of hello" in first
    )
    assert first.split()[6] == "4"  # user, assistant, tool, assistant; the system prompt is not counted
    assert "\x1b[" not in "\n".join(out), "no escape codes when stdout is not a terminal"


def test_sessions_from_a_subdirectory_use_the_git_root(run_cli: Run, seeded: Seeded) -> None:
    sub = seeded.project / "pkg"
    sub.mkdir()
    out = _ok(run_cli(["--db", seeded.url, "sessions", "--json"], cwd=sub)).out
    assert {s["id"] for s in json.loads(out)} == {seeded.first, seeded.second}


def test_sessions_titles_are_cut_by_characters(run_cli: Run, seeded: Seeded) -> None:
    line = _ok(run_cli(["--db", seeded.url, "sessions"], cwd=seeded.project)).out.splitlines()[1]
    title = line[line.index("Ünïcödé") :]
    assert title.endswith("…") and len(title) <= 60
    # The family emoji is one character of four code points joined by ZWJ: it is kept whole or dropped whole.
    body = title[:-1]
    assert body.count("\u200d") == 2 * body.count("👩\u200d👩\u200d👧")


def test_sessions_all_json_and_limit(run_cli: Run, seeded: Seeded) -> None:
    listed = json.loads(
        _ok(run_cli(["sessions", "--all", "--json", "--db", seeded.url], cwd=seeded.project)).out
    )
    assert [s["id"] for s in listed] == [seeded.elsewhere, seeded.second, seeded.first]
    first = listed[2]
    assert (
        first["messages"] == 4 and first["status"] == "done" and first["project_dir"] == str(seeded.project)
    )
    assert first["prompt_name"] == "system" and first["prompt_version"] == "1.2.0"
    assert first["created_at"][:4].isdigit() and "T" in first["created_at"]
    limited = json.loads(
        _ok(run_cli(["sessions", "-a", "-n", "1", "--json", "--db", seeded.url], cwd=seeded.project)).out
    )
    assert [s["id"] for s in limited] == [seeded.elsewhere]


def test_sessions_in_an_empty_project(run_cli: Run, seeded: Seeded, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    outcome = _ok(run_cli(["--db", seeded.url, "sessions"], cwd=empty))
    assert outcome.out == "" and "No sessions" in outcome.err and "--all" in outcome.err
    assert json.loads(_ok(run_cli(["--db", seeded.url, "sessions", "--json"], cwd=empty)).out) == []


def test_kiri_db_env_selects_the_database(
    run_cli: Run, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIRI_DB", seeded.url)
    listed = json.loads(_ok(run_cli(["sessions", "--json"], cwd=seeded.project)).out)
    assert len(listed) == 2


def test_show_renders_messages_tool_calls_results_and_diffs(run_cli: Run, seeded: Seeded) -> None:
    out = _ok(run_cli(["--db", seeded.url, "show", seeded.first[:6]], cwd=seeded.project)).out
    assert f"session {seeded.first}" in out
    order = ["Say goodbye instead of hello", '→ edit_file {"path": "app.py"}', "tool edit_file (0.25 s)"]
    order += [
        "line 19",
        "… 40 more lines (agent show --full)",
        "+print('goodbye')",
        "Done: app.py now says goodbye.",
    ]
    positions = [out.index(part) for part in order]
    assert positions == sorted(positions)
    assert "line 20" not in out and "You are kiri." not in out

    full = _ok(run_cli(["--db", seeded.url, "show", "--full", seeded.first], cwd=seeded.project)).out
    assert "line 59" in full and "more lines" not in full and "You are kiri." in full


def test_show_json_is_the_complete_session(run_cli: Run, seeded: Seeded) -> None:
    data = json.loads(
        _ok(run_cli(["--db", seeded.url, "show", seeded.first[:8], "--json"], cwd=seeded.project)).out
    )
    text = json.dumps(data)
    assert seeded.first in text and "call_1" in text and "print('goodbye')" in text


def test_rm_with_yes_deletes_only_that_session(run_cli: Run, seeded: Seeded) -> None:
    outcome = _ok(run_cli(["--db", seeded.url, "rm", seeded.first[:8], "--yes"], cwd=seeded.project))
    assert f"deleted {seeded.first[:8]}" in outcome.err
    with Store(seeded.url) as store:
        remaining = {s.id for s in store.list_sessions()}
    assert remaining == {seeded.second, seeded.elsewhere}
    _one_line_error(run_cli(["--db", seeded.url, "show", seeded.first[:8]], cwd=seeded.project), "no session")


def test_rm_without_a_terminal_needs_yes(run_cli: Run, seeded: Seeded) -> None:
    outcome = run_cli(["--db", seeded.url, "rm", seeded.first[:8]], cwd=seeded.project)
    _one_line_error(outcome, "pass --yes")
    with Store(seeded.url) as store:
        assert len(store.list_sessions()) == 3


def test_rm_resolves_every_id_before_deleting_any(run_cli: Run, seeded: Seeded) -> None:
    outcome = run_cli(["--db", seeded.url, "rm", "-y", seeded.first, "ffffffff"], cwd=seeded.project)
    _one_line_error(outcome, "ffffffff")
    with Store(seeded.url) as store:
        assert len(store.list_sessions()) == 3


def test_export_markdown_to_stdout_and_json_to_a_file(run_cli: Run, seeded: Seeded, tmp_path: Path) -> None:
    md = _ok(run_cli(["--db", seeded.url, "export", seeded.first[:8]], cwd=seeded.project)).out
    assert md.startswith("# Say goodbye instead of hello") and "```diff" in md

    target = tmp_path / "out" / "session.json"
    target.parent.mkdir()
    outcome = _ok(
        run_cli(
            ["--db", seeded.url, "export", seeded.first[:8], "--format", "json", "-o", str(target)],
            cwd=seeded.project,
        )
    )
    assert outcome.out == "" and str(target) in outcome.err
    assert seeded.first in target.read_text() and json.loads(target.read_text())
    assert [p.name for p in target.parent.iterdir()] == ["session.json"], "no temporary file left behind"


def test_export_to_an_unwritable_place_is_one_line(run_cli: Run, seeded: Seeded, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    outcome = run_cli(
        ["--db", seeded.url, "export", seeded.first[:8], "-o", str(blocker / "x.md")], cwd=seeded.project
    )
    _one_line_error(outcome, f"cannot write {blocker / 'x.md'}")


def test_unknown_id(run_cli: Run, seeded: Seeded) -> None:
    for command in (["show"], ["rm", "--yes"], ["export"], ["undo"], ["diff"], ["resume"]):
        _one_line_error(
            run_cli(["--db", seeded.url, *command, "abcdef12"], cwd=seeded.project), "no session", "abcdef12"
        )


def test_ambiguous_prefix(
    run_cli: Run, tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'amb.sqlite3'}"
    ids = iter([uuid.UUID("abcd1111" + "0" * 24), uuid.UUID("abcd2222" + "0" * 24)])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(ids))
    with Store(url) as store:
        for _ in range(2):
            store.create_session(
                project_dir=str(project),
                backend="local",
                model="m",
                prompt_name="system",
                prompt_version="1",
                system_prompt=None,
            )
    _one_line_error(run_cli(["--db", url, "show", "abcd"], cwd=project), "ambiguous", "abcd1111", "abcd2222")
    assert _ok(run_cli(["--db", url, "show", "abcd2"], cwd=project)).out.startswith("session abcd2222")
    # The listing shows each id as long as needed to be unique, never shorter than 8.
    assert [
        s["short_id"] for s in json.loads(_ok(run_cli(["--db", url, "sessions", "--json"], cwd=project)).out)
    ] == [
        "abcd2222",
        "abcd1111",
    ]


def test_corrupt_database_file(run_cli: Run, tmp_path: Path, project: Path) -> None:
    bad = tmp_path / "corrupt.sqlite3"
    bad.write_bytes(b"this is not a database, just some bytes " * 200)
    _one_line_error(run_cli(["--db", str(bad), "sessions"], cwd=project), str(bad))


def test_unwritable_database_path(run_cli: Run, tmp_path: Path, project: Path) -> None:
    blocker = tmp_path / "plainfile"
    blocker.write_text("x")
    _one_line_error(run_cli(["--db", str(blocker / "kiri.sqlite3"), "sessions"], cwd=project), str(blocker))


def test_database_from_a_newer_kiri(run_cli: Run, tmp_path: Path, project: Path) -> None:
    path = tmp_path / "future.sqlite3"
    Store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES ('9999_from_the_future', 1e10)")
    _one_line_error(
        run_cli(["--db", str(path), "sessions"], cwd=project), "newer kiri", "9999_from_the_future"
    )


def test_unsupported_database_url(run_cli: Run, project: Path) -> None:
    outcome = run_cli(["--db", "nosuchdriver://x/y", "sessions"], cwd=project)
    _one_line_error(outcome)


def test_diff_shows_the_net_change(run_cli: Run, seeded: Seeded) -> None:
    out = _ok(run_cli(["--db", seeded.url, "diff", seeded.first[:8]], cwd=seeded.project)).out
    assert "-print('hello')" in out and "+print('goodbye')" in out
    outcome = _ok(run_cli(["--db", seeded.url, "diff"], cwd=seeded.project))  # latest session: no changes
    assert outcome.out == "" and f"no changes in session {seeded.second[:8]}" in outcome.err


def test_undo_restores_the_file_and_refuses_over_outside_edits(run_cli: Run, seeded: Seeded) -> None:
    app = seeded.project / "app.py"
    app.write_text("print('edited by hand')\n")
    conflict = run_cli(["--db", seeded.url, "undo", seeded.first[:8]], cwd=seeded.project)
    _one_line_error(conflict, "app.py", "--force")
    assert app.read_text() == "print('edited by hand')\n"

    app.write_text("print('goodbye')\n")  # what the agent wrote
    outcome = _ok(run_cli(["--db", seeded.url, "undo", seeded.first[:8]], cwd=seeded.project))
    assert outcome.out == "restored app.py\n" and app.read_text() == "print('hello')\n"
    _one_line_error(
        run_cli(["--db", seeded.url, "undo", seeded.first[:8]], cwd=seeded.project), "nothing to undo"
    )


def test_undo_force_overwrites(run_cli: Run, seeded: Seeded) -> None:
    app = seeded.project / "app.py"
    app.write_text("print('edited by hand')\n")
    _ok(run_cli(["--db", seeded.url, "undo", "--force", seeded.first[:8], "--json"], cwd=seeded.project))
    assert app.read_text() == "print('hello')\n"


def test_colour_when_configured_and_none_with_no_color(
    run_cli: Run, seeded: Seeded, kiri_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (kiri_home / "config.toml").write_text("color = true\n")
    coloured = _ok(run_cli(["--db", seeded.url, "diff", seeded.first[:8]], cwd=seeded.project)).out
    assert "\x1b[32m+print('goodbye')" in coloured and "\x1b[31m-print('hello')" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    plain = _ok(run_cli(["--db", seeded.url, "show", seeded.first[:8]], cwd=seeded.project)).out
    assert "\x1b[" not in plain and "+print('goodbye')" in plain
