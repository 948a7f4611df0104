"""agent.warm: which commands qualify, and a real warm pytest server against real projects and cold runs."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from agent.verify import command_env, run_tests
from agent.warm import WarmPytest, pytest_argv
from tests.procs import dies

PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"


@pytest.mark.parametrize(
    ("cmd", "expected"),
    [
        ("python -m pytest -q -x", ["-q", "-x"]),
        (f"{sys.executable} -m pytest tests/test_a.py -k 'a or b'", ["tests/test_a.py", "-k", "a or b"]),
        ("python3.11 -m pytest", []),
        ("python -m pytest -q && echo done", None),
        ("python -m pytest | tee log", None),
        ("FOO=1 python -m pytest", None),
        ("python -m unittest", None),
        ("npm test", None),
        ("python -m pytest 'unclosed", None),
        ("", None),
    ],
)
def test_pytest_argv(cmd: str, expected: list[str] | None) -> None:
    parsed = pytest_argv(cmd)
    assert (parsed[1] if parsed else None) == expected
    if parsed:
        assert Path(parsed[0]).exists() and parsed[2] is True  # `python -m` puts the cwd on sys.path


def test_pytest_script_uses_its_shebang_interpreter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pytest"
    script.write_text(f"#!{sys.executable}\nimport pytest\nraise SystemExit(pytest.console_main())\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    assert pytest_argv("pytest -q") == (sys.executable, ["-q"], False)
    script.write_text("#!/usr/bin/env python3\n")
    assert pytest_argv("pytest -q") is None  # not a plain interpreter path: run cold


def _project(root: Path, body: str = "return x + 1") -> Path:
    (root / "m.py").write_text(f"def inc(x):\n    {body}\n")
    (root / "test_m.py").write_text(
        "from m import inc\n\n\ndef test_one():\n    assert inc(1) == 2\n\n\ndef test_zero():\n    assert inc(0) == 1\n"
    )
    return root


@pytest.fixture
def warm() -> WarmPytest:
    server = WarmPytest.for_command(PYTEST, command_env())
    assert server is not None
    yield server
    server.close()


def test_warm_runs_agree_with_cold_runs_and_see_every_edit(tmp_path: Path, warm: WarmPytest) -> None:
    root = _project(tmp_path)
    for body, passed, failed in [
        ("return x + 1", True, []),
        (
            "return x + 2",
            False,
            ["test_m.py::test_one", "test_m.py::test_zero"],
        ),  # same size: no stale import
        ("return x + 1", True, []),
        ("return x +", False, ["test_m.py"]),  # a syntax error is a collection error, as cold
    ]:
        (root / "m.py").write_text(f"def inc(x):\n    {body}\n")
        hot = run_tests(root, PYTEST, timeout=60, warm=warm)
        cold = run_tests(root, PYTEST, timeout=60)
        assert (hot.passed, hot.failed) == (cold.passed, cold.failed) == (passed, failed), hot.output
        assert hot.returncode == cold.returncode
    (root / "m.py").write_text("def inc(x):\n    return 1\n")
    only = run_tests(root, PYTEST, timeout=60, only=["test_m.py::test_zero"], warm=warm)
    assert only.passed and "1 passed" in only.output  # node ids reach the server's pytest too


def test_warm_timeout_kills_the_child_and_its_helpers(tmp_path: Path, warm: WarmPytest) -> None:
    root = _project(tmp_path)
    pids = tmp_path / "pids"
    (root / "m.py").write_text(
        "import os, subprocess\n"
        f"helper = subprocess.Popen(['sleep', '60'])\nopen({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{helper.pid}}')\n"
        "while True:\n    pass\n"
    )
    start = time.monotonic()
    run = run_tests(root, PYTEST, timeout=2, warm=warm)
    assert run.timed_out and not run.passed and "timed out after 2s" in run.output
    assert time.monotonic() - start < 30
    child, helper = map(int, pids.read_text().split())
    assert dies(child) and dies(helper)
    (root / "m.py").write_text("def inc(x):\n    return x + 1\n")
    assert run_tests(root, PYTEST, timeout=60, warm=warm).passed  # the server lives on


def test_warm_run_is_cancelled(tmp_path: Path, warm: WarmPytest) -> None:
    root = _project(tmp_path)
    (root / "m.py").write_text("import time\ntime.sleep(60)\n")
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    run = run_tests(root, PYTEST, timeout=60, cancel=cancel, warm=warm)
    assert run.cancelled and not run.passed and run.seconds < 30
    (root / "m.py").write_text("def inc(x):\n    return x + 1\n")
    assert run_tests(root, PYTEST, timeout=60, warm=warm).passed


def test_dead_server_falls_back_to_a_cold_run(tmp_path: Path, warm: WarmPytest) -> None:
    root = _project(tmp_path)
    assert run_tests(root, PYTEST, timeout=60, warm=warm).passed
    warm._proc.kill()
    warm._proc.wait()
    assert warm.run(root, [], 10) is None
    run = run_tests(root, PYTEST, timeout=60, warm=warm)
    assert run.passed and "passed" in run.output


def test_commands_that_do_not_qualify_get_no_server() -> None:
    assert WarmPytest.for_command("python -m pytest && rm -rf /", command_env()) is None
    assert WarmPytest.for_command("make test", command_env()) is None
