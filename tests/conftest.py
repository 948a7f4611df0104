"""Every test runs with its own KIRI_HOME and without the developer's kiri/OpenAI settings.

KIRI_HOME moves the user config file and the default database, so no test reads or writes real user data, and
a developer's OPENAI_API_KEY or KIRI_MODEL cannot change what a test sees.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def kiri_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty KIRI_HOME for each test; KIRI_*, OPENAI_* and NO_COLOR cleared."""
    for name in list(os.environ):
        if name.startswith(("KIRI_", "OPENAI_")) or name == "NO_COLOR":
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("kiri-home")
    monkeypatch.setenv("KIRI_HOME", str(home))
    return home
