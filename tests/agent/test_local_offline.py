"""`agent run --backend local` works offline on the shipped weights: no download, no key, no server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from memory import Store


def test_agent_run_on_the_bundled_model_offline(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "hello.py").write_text("print('hello')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIRI_", "OPENAI_"))}
    env |= {
        "KIRI_HOME": str(tmp_path / "home"),
        "KIRI_MAX_OUTPUT_TOKENS": "16",  # a short reply keeps the test quick; the path is the same
        "HF_HUB_OFFLINE": "1",
        "NO_COLOR": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "agent", "run", "--yes", "--max-steps", "1", "summarise hello.py"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr  # 1 only if the step limit stopped it; never 2 or 3
    assert "Traceback" not in done.stderr
    store = Store(f"sqlite:///{tmp_path / 'home' / 'kiri.sqlite3'}")
    [summary] = store.list_sessions()
    assert (summary.backend, summary.model) == ("local", "kiri-coder")
    messages = store.messages_for_model(summary.id)
    assert [m["role"] for m in messages[:3]] == ["system", "user", "assistant"]
    assert store.load(summary.id).session.usage["completion_tokens"] > 0
