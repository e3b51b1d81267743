"""Starting the bot's service on the index a user already has."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.launcher import build_service
from bot.settings import load_settings


def test_an_index_from_another_version_is_rebuilt_on_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(index=tmp_path / "idx")
    build_service(settings)  # builds the index from the bundled news
    manifests = list((tmp_path / "idx").rglob("manifest.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    manifest["version"] = 1
    manifests[0].write_text(json.dumps(manifest))

    service = build_service(settings)

    assert "rebuilding it from the configured sources" in caplog.text
    answer = service.answer("How many GPUs will Meta have?")
    assert answer.sentence is not None
    assert "600,000" in answer.sentence.highlight
