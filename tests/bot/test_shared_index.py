"""Several processes on one index: one refresh at a time across processes, and a long-running
service that follows a snapshot another process made live."""

from __future__ import annotations

from pathlib import Path

from bot.launcher import build_service
from bot.settings import load_settings
from index.ingest.reindex import refresh_lock
from tests.bot.test_cli import run

ARTICLE = """---
title: Harbour report
source: Test Times
published: 2024-05-01
---
The harbour master counted {count} ships in the bay on Monday, a record for the spring.
"""


def setup(tmp_path: Path, count: int) -> Path:
    news = tmp_path / "news"
    news.mkdir(exist_ok=True)
    (news / "harbour.md").write_text(ARTICLE.format(count=count), encoding="utf-8")
    config = tmp_path / "newsbot.toml"
    config.write_text(
        f'[index]\npath = "{tmp_path / "idx"}"\n\n[[sources]]\npath = "{news}"\n', encoding="utf-8"
    )
    return config


def test_a_second_reindex_in_another_process_refuses_in_one_line(tmp_path: Path) -> None:
    config = setup(tmp_path, 41)
    with refresh_lock(tmp_path / "idx"):  # as a bot's /reindex would hold it
        result = run("reindex", "--config", str(config))
    assert result.returncode == 1
    assert "Another reindex of" in result.stderr and "is running (pid" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert run("reindex", "--config", str(config)).returncode == 0  # free again


def test_a_running_service_follows_an_index_rebuilt_by_another_process(tmp_path: Path) -> None:
    config = setup(tmp_path, 41)
    assert run("reindex", "--config", str(config)).returncode == 0
    service = build_service(load_settings(config))  # the bot's service, loaded once
    question = "How many ships did the harbour master count?"
    assert service.answer(question).sentence.highlight.startswith("41")  # type: ignore[union-attr]

    setup(tmp_path, 97)
    assert run("reindex", "--config", str(config)).returncode == 0  # cron, in another process
    answer = service.answer(question)
    assert answer.sentence is not None and answer.sentence.highlight.startswith("97")
    assert service.status().articles == 1


def test_reindex_exit_codes_tell_cron_what_happened_and_a_failed_read_loses_nothing(
    tmp_path: Path,
) -> None:
    news = tmp_path / "news"
    news.mkdir()
    for name, text in {
        "a.md": "The harbour master counted 41 ships in the bay on Monday.",
        "b.md": "The lighthouse keeper saw a whale off the point on Tuesday.",
    }.items():
        (news / name).write_text(f"---\ntitle: {name}\n---\n{text}\n", encoding="utf-8")
    config = tmp_path / "newsbot.toml"
    body = f'[index]\npath = "{tmp_path / "idx"}"\n\n[[sources]]\npath = "{news}"\n'
    config.write_text(body, encoding="utf-8")
    assert run("reindex", "--config", str(config)).returncode == 0

    # b.md goes and a damaged file arrives: the read failed, so nothing it held is dropped.
    (news / "b.md").unlink()
    (news / "broken.jsonl").write_bytes(b"{not json\n")
    partial = run("reindex", "--config", str(config))
    assert partial.returncode == 2, partial.stderr
    assert "broken.jsonl" in partial.stdout and "2 articles" in partial.stdout.splitlines()[
        0
    ].replace("Indexed ", "")
    (news / "broken.jsonl").unlink()
    clean = run("reindex", "--config", str(config))
    assert clean.returncode == 0 and "1 removed" in clean.stdout

    # Every source failing (a folder that is not there) is exit 1, and the folder is named.
    config.write_text(body + f'\n[[sources]]\npath = "{tmp_path / "gone"}"\n', encoding="utf-8")
    assert run("reindex", "--config", str(config)).returncode == 2
    config.write_text(
        f'[index]\npath = "{tmp_path / "idx2"}"\n\n[[sources]]\npath = "{tmp_path / "gone"}"\n',
        encoding="utf-8",
    )
    missing = run("reindex", "--config", str(config))
    assert missing.returncode == 1 and str(tmp_path / "gone") in missing.stderr
    assert "Traceback" not in missing.stderr
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("newsbot ")
