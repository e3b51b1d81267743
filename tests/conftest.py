"""Shared fixtures: every test runs with its own data folder and no ambient config."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NEWSBOT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
