"""What an operator relies on: status for monitoring, log lines, a bot that survives a failed
first build."""

from __future__ import annotations

import io
import json
import logging
import os
import resource
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.launcher import build_service, setup_logging
from bot.settings import load_settings
from index.errors import IndexMissingError
from tests.bot.test_cli import run
from tests.helpers import child_env, newsbot_command


def config_for(tmp_path: Path, extra: str = "", source: str | None = None) -> Path:
    news = tmp_path / "news"
    news.mkdir(exist_ok=True)
    (news / "harbour.md").write_text(
        "---\ntitle: Harbour\n---\nThe harbour master counted 41 ships in the bay on Monday.\n",
        encoding="utf-8",
    )
    config = tmp_path / "newsbot.toml"
    config.write_text(
        f'[index]\npath = "{tmp_path / "idx"}"\n\n[[sources]]\npath = "{source or news}"\n{extra}',
        encoding="utf-8",
    )
    return config


def test_status_is_healthy_after_a_reindex_and_fails_when_stale_or_missing(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    assert run("status", "--config", str(config)).returncode == 1  # no index yet
    assert run("reindex", "--config", str(config)).returncode == 0
    healthy = run("status", "--config", str(config))
    assert healthy.returncode == 0, healthy.stderr
    assert "1 articles" in healthy.stdout and "Last reindex:" in healthy.stdout
    assert "not recorded" not in healthy.stdout
    stale = config_for(tmp_path, "\n[refresh]\nstale_after_hours = 0.000001\n")
    result = run("status", "--config", str(stale))
    assert result.returncode == 1 and "older than" in result.stderr


def test_json_log_lines_parse_and_never_hold_the_token() -> None:
    stream = io.StringIO()
    handler = setup_logging("secret.token.value", logging.INFO, stream, json_lines=True)
    try:
        logging.getLogger("newsbot.test").info("connecting with %s", "secret.token.value")
    finally:
        logging.getLogger().removeHandler(handler)
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["level"] == "INFO" and entry["logger"] == "newsbot.test"
    assert "secret.token.value" not in stream.getvalue() and "[token redacted]" in entry["message"]


def test_each_question_is_one_log_line_without_who_asked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = build_service(load_settings(config_for(tmp_path)))
    with caplog.at_level(logging.INFO, logger="index.service"):
        service.answer("How many ships did the harbour master count?")
        service.answer("What is the capital of Mars?")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("question:")]
    assert len(lines) == 2
    assert lines[0].startswith("question: fact in ") and lines[0].endswith(" ms")
    assert lines[1].endswith("ms (not_covered)")


def test_a_bot_whose_first_build_fails_starts_and_points_to_reindex(tmp_path: Path) -> None:
    settings = load_settings(config_for(tmp_path, source=str(tmp_path / "missing")))
    with pytest.raises(Exception, match="missing"):
        build_service(settings)  # the command line says what failed, and exits
    service = build_service(settings, keep_running=True)  # the bot stays up
    with pytest.raises(IndexMissingError, match="/reindex"):
        service.answer("How many ships?")


def test_same_size_damage_is_found_and_the_next_reindex_rebuilds_rather_than_saving_it(
    tmp_path: Path,
) -> None:
    config = config_for(tmp_path)
    assert run("reindex", "--config", str(config)).returncode == 0
    live = (tmp_path / "idx" / "CURRENT").read_text().strip()
    passages = tmp_path / "idx" / "snapshots" / live / "passages.txt"
    data = bytearray(passages.read_bytes())
    data[10] ^= 0x01  # one flipped bit: the size is unchanged
    passages.write_bytes(bytes(data))
    verify = run("status", "--config", str(config), "--verify")
    assert (
        verify.returncode == 1
        and "passages.txt" in verify.stderr
        and "Traceback" not in verify.stderr
    )
    ask = run("ask", "--config", str(config), "How many ships did the harbour master count?")
    assert ask.returncode == 1 and "damaged" in ask.stderr
    assert run("reindex", "--config", str(config)).returncode == 0
    assert run("status", "--config", str(config), "--verify").returncode == 0
    fixed = run("ask", "--config", str(config), "How many ships did the harbour master count?")
    assert fixed.returncode == 0 and "41 ships" in fixed.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["ask", "--since", "99999999d", "ships?"], "reaches back before the year 1"),
        (["ask", "--questions", "{bad_utf8}"], "is not UTF-8 text"),
        (["ask", "--questions", "{tmp}"], "Cannot read the questions file"),
        (["ask", "--as-of", "99999-01-01", "ships?"], "--as-of must be a date"),
        (["reindex", "--index", "{a_file}/idx"], "cannot read or write"),
        (["report", "--days", "0"], "--days 0 is out of range"),
        (["eval", "{tmp}/nowhere"], "has no articles.jsonl"),
        (["status", "--verify", "--index", "{tmp}/none"], "There is no index"),
    ],
)
def test_bad_local_inputs_are_one_line_and_a_non_zero_exit(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    config = config_for(tmp_path)
    (tmp_path / "bad.jsonl").write_bytes(b'\xff\xfe{"id": "1", "question": "x"}\n')
    (tmp_path / "a_file").write_text("not a folder", encoding="utf-8")
    filled = [
        a.format(bad_utf8=tmp_path / "bad.jsonl", tmp=tmp_path, a_file=tmp_path / "a_file")
        for a in args
    ]
    result = run(*filled[:1], "--config", str(config), *filled[1:])
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr and expected in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("newsbot:")]
    assert len(errors) == 1 and expected in errors[0], result.stderr


def _one_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr
    assert expected in result.stderr, result.stderr


def test_a_corrupted_store_is_one_line(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    (tmp_path / "idx.articles.sqlite3").write_bytes(b"this is not a database" * 100)
    _one_line(run("reindex", "--config", str(config)), "move it aside and run `newsbot reindex`")


@pytest.mark.slow  # SQLite waits out its 30 s busy timeout first
def test_a_store_another_program_holds_locked_is_one_line(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    assert run("reindex", "--config", str(config)).returncode == 0
    (tmp_path / "news" / "bridge.md").write_text(
        "---\ntitle: Bridge\n---\nThe bridge opened on Tuesday.\n", encoding="utf-8"
    )
    holder = sqlite3.connect(tmp_path / "idx.articles.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = run("reindex", "--config", str(config))
    finally:
        holder.rollback()
        holder.close()
    _one_line(result, "is locked by another program")


def _small_files() -> None:
    # A disk that fills up: every file this process writes stops growing at 64 KiB (Python
    # ignores SIGXFSZ, so the write fails with an error instead of killing the process).
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_a_full_disk_is_one_line_and_the_live_index_survives(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    assert run("reindex", "--config", str(config)).returncode == 0
    for n in range(40):
        (tmp_path / "news" / f"story-{n}.md").write_text(
            f"---\ntitle: Story {n}\n---\n" + f"Quay {n} took {n} ships on a calm day. " * 200,
            encoding="utf-8",
        )
    full = subprocess.run(
        [newsbot_command(), "reindex", "--config", str(config)],
        capture_output=True,
        text=True,
        env=child_env(),
        preexec_fn=_small_files,
        timeout=120,
        check=False,
    )
    _one_line(full, "free disk space")
    ask = run("ask", "--config", str(config), "How many ships did the harbour master count?")
    assert ask.returncode == 0 and "41 ships" in ask.stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders anyway")
def test_a_read_only_index_folder_is_one_line(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    (tmp_path / "idx").mkdir()
    (tmp_path / "idx").chmod(0o500)
    try:
        result = run("reindex", "--config", str(config))
    finally:
        (tmp_path / "idx").chmod(0o700)
    _one_line(result, "fix the permissions")


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: p.write_bytes(b'[index]\npath = "\xff\xfe"\n'), "is not UTF-8"),
    ],
    ids=["config-is-a-folder", "config-not-utf8"],
)
def test_a_config_that_cannot_be_read_is_one_line(
    tmp_path: Path, write: Callable[[Path], object], expected: str
) -> None:
    config = tmp_path / "newsbot.toml"
    write(config)
    _one_line(run("ask", "--config", str(config), "ships?"), expected)


def test_a_reader_that_goes_away_is_not_an_error(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    assert run("reindex", "--config", str(config)).returncode == 0
    reader, writer = os.pipe()
    os.close(reader)  # like `newsbot ask … | head -c0`: nobody reads what newsbot prints
    with os.fdopen(writer, "w") as closed:
        result = subprocess.run(
            [newsbot_command(), "ask", "--config", str(config), "How many ships?"],
            stdout=closed,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
            timeout=120,
            check=False,
        )
    assert result.returncode == 0 and result.stderr == ""
