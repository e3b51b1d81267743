"""Shared fixtures: every test runs with its own data folder and no ambient config."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.ingest.robots import SHARED_ROBOTS


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NEWSBOT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    # Test servers reuse ports, so one test's robots.txt must not be taken for another's.
    SHARED_ROBOTS.clear()
