"""Helpers shared by the tests."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test when this checkout has none (a user's clone)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"{path} is absent: ../shared comes with the team's workspace, not with a clone"
        )
    return path


def newsbot_command() -> str:
    """The installed console script, next to the interpreter running the tests."""
    candidate = Path(sys.executable).parent / "newsbot"
    found = str(candidate) if candidate.exists() else shutil.which("newsbot")
    if not found:
        pytest.fail("the newsbot command is not installed; run `pip install -e .[test]` first")
    return found


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NEWSBOT_CONFIG", None)
    env.update(extra)
    return env


def discord_shows(text: str) -> str:
    """What Discord displays for escaped text: a backslash before punctuation is not shown."""
    return re.sub(r"\\([^\w\s])", r"\1", text)
