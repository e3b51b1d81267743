"""The installed ``newsbot`` command, run as a user runs it, on real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.corpus import write_corpus
from tests.helpers import child_env, newsbot_command

QUESTION = "How many GPUs will Meta have?"


def run(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [newsbot_command(), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=child_env(**env),
        timeout=120,
        check=False,
    )


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "newsbot.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_ask_answers_from_the_bundled_news_without_any_setup(tmp_path: Path) -> None:
    result = run("ask", QUESTION)
    assert result.returncode == 0, result.stderr
    first_line = result.stdout.splitlines()[0]
    assert "**almost 600,000 GPUs**" in first_line
    assert "Sources:" in result.stdout
    assert "The Circuit" in result.stdout
    assert "https://news.example/tech/2024/01/19/meta-gpu-stockpile" in result.stdout
    assert "No index yet" in result.stderr  # it built the default index first


def test_ask_rebuilds_an_index_written_by_another_version(tmp_path: Path) -> None:
    assert run("ask", QUESTION).returncode == 0
    manifests = list((tmp_path / "home").rglob("manifest.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    manifest["version"] = 1
    manifests[0].write_text(json.dumps(manifest))

    result = run("ask", QUESTION)
    assert result.returncode == 0, result.stderr
    assert "rebuilding it from the configured sources" in result.stderr
    assert "**almost 600,000 GPUs**" in result.stdout
    assert run("ask", QUESTION).stderr == ""  # rebuilt once, in the current format


def test_ask_json_has_the_documented_shape(tmp_path: Path) -> None:
    result = run("ask", QUESTION, "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert {"question", "kind", "answer", "items", "refusal", "detail", "passages"} <= set(record)
    assert record["kind"] == "fact" and record["refusal"] is None
    assert {"text", "highlight", "url", "title", "source", "published", "support"} <= set(
        record["answer"]
    )
    assert "600,000" in record["answer"]["highlight"]
    assert record["answer"]["published"] == "2024-01-19"
    assert set(record["passages"][0]) == {"url", "title", "source", "published", "text", "score"}
    scores = [p["score"] for p in record["passages"]]
    assert scores[0] == max(scores)


def test_not_found_says_so_with_the_reindex_time(tmp_path: Path) -> None:
    result = run("ask", "What is the capital of Mars?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("The indexed news does not cover this question")
    assert "last reindexed 20" in result.stdout
    assert "Sources:" not in result.stdout
    record = json.loads(run("ask", "What is the capital of Mars?", "--json").stdout)
    assert record["answer"] is None


def test_questions_file_gives_one_json_line_per_question(tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": QUESTION})
        + "\n"
        + json.dumps(
            {"id": "b", "question": "Who won the Women's World Cup?", "asked": "2023-09-01"}
        )
        + "\n"
        + json.dumps({"id": "c", "question": "   "})
        + "\n",
        encoding="utf-8",
    )
    result = run("ask", "--questions", str(questions), "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b", "c"]
    assert "600,000" in lines[0]["answer"]["highlight"]
    assert lines[1]["answer"]["highlight"] == "Spain"
    assert lines[2]["answer"] is None and "empty" in lines[2]["error"]


def test_reindex_uses_the_configured_sources_and_reports_counts(tmp_path: Path) -> None:
    write_corpus(tmp_path / "news")
    (tmp_path / "news" / "empty.md").write_text("", encoding="utf-8")
    config = _config(tmp_path, '[index]\npath = "idx"\n\n[[sources]]\npath = "news"\n')
    result = run("reindex", "--config", str(config))
    assert result.returncode == 2, result.stderr  # indexed, but a source had a problem
    assert "Indexed 3 articles" in result.stdout
    assert "3 new, 0 updated, 0 unchanged" in result.stdout
    assert "empty.md: the file is empty" in result.stdout
    assert (tmp_path / "idx" / "CURRENT").is_file()
    (tmp_path / "news" / "weather.txt").unlink()
    # While a file of the folder fails to read, nothing stored from it is dropped: the failed
    # file may be where the "missing" article went.
    held = run("reindex", "--config", str(config))
    assert held.returncode == 2 and "Indexed 3 articles" in held.stdout
    (tmp_path / "news" / "empty.md").unlink()
    again = run("reindex", "--config", str(config))
    assert again.returncode == 0, again.stdout
    assert "Indexed 2 articles" in again.stdout
    assert "0 new, 0 updated, 2 unchanged" in again.stdout and "1 removed" in again.stdout
    assert "0 analyzed" in again.stdout  # nothing new to chunk or analyze
    answer = run("ask", "--config", str(config), "Who won the league?")
    assert "City" in answer.stdout and "Sport Daily" in answer.stdout
    # For scripts: the same report as JSON, saying how the index changed.
    same = run("reindex", "--config", str(config), "--json")
    assert same.returncode == 0, same.stderr
    report = json.loads(same.stdout)
    assert (report["articles"], report["index_update"]) == (2, "unchanged")
    assert report["counts"]["unchanged"] == 2 and report["failed_sources"] == []


def test_index_option_points_at_another_index(tmp_path: Path) -> None:
    write_corpus(tmp_path / "news")
    config = _config(tmp_path, '[[sources]]\npath = "news"\n')
    assert (
        run("reindex", "--config", str(config), "--index", str(tmp_path / "other")).returncode == 0
    )
    result = run("ask", "--index", str(tmp_path / "other"), "Who won the league?")
    assert result.returncode == 0 and "Sport Daily" in result.stdout


@pytest.mark.parametrize(
    ("args", "config_text", "expected"),
    [
        (
            ["ask", "--config", "missing.toml", "x"],
            None,
            "The config file missing.toml does not exist",
        ),
        (["ask", "--config", "newsbot.toml", "x"], "[index\npath=1", "is not valid TOML"),
        (
            ["reindex", "--config", "newsbot.toml"],
            '[chunking]\nwords = "many"\n',
            "Bad setting chunking.words",
        ),
        (
            ["reindex", "--config", "newsbot.toml"],
            "[chunking]\nwordz = 10\n",
            "chunking.wordz in newsbot.toml: is not a known setting",
        ),
        (
            ["reindex", "--config", "newsbot.toml"],
            "[[sources]]\n",
            "needs exactly one of path, feed or url",
        ),
        (["ask", ""], None, "The question is empty"),
        (["ask", "x " * 400], None, "keep it under 500 characters"),
        (["ask", "--index", "no-such-index", "GPUs?"], None, "There is no index at"),
        (["ask"], None, "Give a question"),
        (["eval", "no-such-folder"], None, "no-such-folder has no articles.jsonl"),
    ],
)
def test_bad_input_gets_one_clear_sentence(
    tmp_path: Path, args: list[str], config_text: str | None, expected: str
) -> None:
    if config_text is not None:
        _config(tmp_path, config_text)
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_damaged_index_says_to_reindex(tmp_path: Path) -> None:
    assert run("reindex", "--index", str(tmp_path / "idx")).returncode == 0
    live = (tmp_path / "idx" / "CURRENT").read_text().strip()
    (tmp_path / "idx" / "snapshots" / live / "weights.npy").write_bytes(b"garbage")
    result = run("ask", "--index", str(tmp_path / "idx"), QUESTION)
    assert result.returncode == 1
    assert "is damaged" in result.stderr and "newsbot reindex" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [[], ["reindex"], ["ask"], ["eval"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0
    assert "usage: newsbot" in result.stdout


def test_reindex_draws_a_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    import os
    import pty

    main_fd, child_fd = pty.openpty()
    proc = subprocess.run(
        [newsbot_command(), "reindex", "--index", str(tmp_path / "idx")],
        stdout=subprocess.PIPE,
        stderr=child_fd,
        env=child_env(),
        timeout=120,
        check=False,
    )
    os.close(child_fd)
    drawn = b""
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(main_fd)
    assert proc.returncode == 0
    assert "Indexing" in drawn.decode() and "12/12" in drawn.decode()
    piped = run("reindex", "--index", str(tmp_path / "idx"))
    assert "Indexing" not in piped.stderr  # no bar when stderr is not a terminal


def test_sources_command_shows_each_feeds_health(tmp_path: Path) -> None:
    from tests.news_server import NewsServer, harbour_feed, loopback_fetch_toml

    write_corpus(tmp_path / "news")
    with NewsServer() as server:
        _, feed = harbour_feed(server)
        broken = server.add("/broken.rss", "nope", status=500, content_type="text/plain")
        config = _config(
            tmp_path,
            f'[index]\npath = "idx"\n\n[[sources]]\npath = "news"\n\n[[sources]]\nfeed = "{feed}"\n\n'
            f'[[sources]]\nfeed = "{broken}"\nname = "Broken Bugle"\n\n{loopback_fetch_toml()}',
        )
        reindexed = run("reindex", "--config", str(config))
        assert reindexed.returncode == 2, reindexed.stderr  # one feed failed, one worked
        assert f"{broken}: HTTP 500" in reindexed.stdout
        result = run("sources", "--config", str(config))
    assert result.returncode == 0, result.stderr
    blocks = result.stdout.split("\n")
    assert any(line.startswith("path") for line in blocks)
    text = result.stdout
    assert f"feed  {feed}\n      1 articles, last success 20" in text
    assert (
        "feed  Broken Bugle\n      0 articles, last success never, 1 consecutive failures" in text
    )
    assert "last error: HTTP 500 Internal Server Error" in text


def test_ask_never_prints_escape_sequences_from_an_article(tmp_path: Path) -> None:
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / "esc.md").write_text(
        "---\ntitle: Harbour \x1b]0;pwned\x07news\x1b[2J\nsource: Coast \x1b[5mNews\n---\n"
        "The harbour \x1b[31mreopened\x1b[0m to ships on Friday after the storms.\x07\n",
        encoding="utf-8",
    )
    config = _config(tmp_path, '[index]\npath = "idx"\n\n[[sources]]\npath = "news"\n')
    result = run("ask", "When did the harbour reopen?", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "reopened" in result.stdout and "Harbour news — Coast News" in result.stdout
    assert not any(c in result.stdout + result.stderr for c in "\x1b\x07\x08\x9b")


def _ask_json(*args: str) -> dict:
    result = run("ask", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_each_refusal_says_what_happened() -> None:
    """A filter that empties the index, a greeting, another language and a real miss each get
    their own reason, in the JSON and in words."""
    cnn = _ask_json(QUESTION, "--source", "cnn.com")
    assert (cnn["refusal"], cnn["detail"]) == ("filtered", "No articles from cnn.com in the index.")
    recent = _ask_json(QUESTION, "--since", "7d")
    assert recent["refusal"] == "filtered"
    assert recent["detail"].endswith("the newest article is from 2024-09-03.")
    assert _ask_json("hi")["refusal"] == "chitchat"
    assert _ask_json("¿Quién ganó el Mundial femenino?")["refusal"] == "not_english"
    miss = _ask_json("What is the capital of Mars?")
    assert miss["refusal"] == "not_covered" and miss["kind"] == "refusal"
    assert miss["nearest"] and all("title" in n for n in miss["nearest"])

    texts = {
        run("ask", *args).stdout.splitlines()[0]
        for args in [
            (QUESTION, "--source", "cnn.com"),
            ("hi",),
            ("¿Quién ganó el Mundial femenino?",),
            ("What is the capital of Mars?",),
        ]
    }
    assert len(texts) == 4  # four different sentences, not one "does not cover"
    assert "Closest headlines" in run("ask", "What is the capital of Mars?").stdout


def test_an_open_question_gets_a_brief_of_the_newest_articles() -> None:
    brief = _ask_json("what's new with Meta?")
    assert brief["kind"] == "brief" and brief["answer"] is None
    dates = [item["published"] for item in brief["items"]]
    assert 3 <= len(dates) <= 5 and dates == sorted(dates, reverse=True)
    assert all("Meta" in item["title"] + item["sentence"] for item in brief["items"])
    latest = _ask_json("What's the latest news?")
    assert latest["items"][0]["title"].startswith("xAI switches on")  # the newest sample article
    text = run("ask", "any news about Nvidia?").stdout
    assert text.startswith("Latest on Nvidia:") and "**" not in text


def test_casual_questions_are_answered() -> None:
    for question in [
        "how many gpus will meta have",
        "Can you tell me how many GPUs Meta will have?",
        "hey bot, how many GPUs will Meta have? thanks",
    ]:
        record = _ask_json(question)
        assert "600,000" in record["answer"]["highlight"], question
    typo = _ask_json("How much did teslla spend on Dojo?")
    assert typo["corrections"] == [{"typed": "teslla", "read": "Tesla"}]
    assert "$1 billion" in typo["answer"]["text"]
    assert "Jensen Huang" in _ask_json("Who is Nvidia's CEO?")["answer"]["highlight"]
    said = _ask_json("What did Zuckerberg say?")["answer"]
    assert "Zuckerberg" in said["text"] and said["highlight"] == ""  # the sentence, no guess


def test_chat_answers_follow_ups_and_starts_over_on_a_blank_line(tmp_path: Path) -> None:
    lines = [
        "What will NASA do about the Mars samples?",
        "and how much did that cost?",
        "",
        "and how much did that cost?",
    ]
    result = subprocess.run(
        [newsbot_command(), "chat", "--json"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    first, followup, fresh = (json.loads(line) for line in result.stdout.splitlines())
    assert "NASA" in first["answer"]["text"]
    assert followup["read_as"] and "Mars" in followup["read_as"]
    assert "$11 billion" in followup["answer"]["text"]
    assert fresh["read_as"] is None  # a new conversation: nothing to lean on
    assert "$11 billion" not in (fresh["answer"] or {}).get("text", "")


def test_report_reads_the_answer_journal(tmp_path: Path) -> None:
    from index.answer.journal import Journal
    from index.models import Answer, Refusal

    index = tmp_path / "idx"
    journal = Journal(index.with_name("idx.articles.sqlite3"))
    from datetime import UTC, datetime

    for _ in range(2):
        journal.record(
            Answer(
                question="What is the capital of Mars?",
                indexed_at=datetime.now(UTC),
                articles=1,
                refusal=Refusal.NOT_COVERED,
            )
        )
    journal.close()
    result = run("report", "--index", str(index), "--days", "7")
    assert result.returncode == 0, result.stderr
    assert "2 questions asked in the last 7 days." in result.stdout
    assert "2 × What is the capital of Mars?" in result.stdout
    bad = run("report", "--index", str(index), "--days", "0")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "--days 0" in bad.stderr


def test_commands_that_fetch_nothing_do_not_import_the_http_client(tmp_path: Path) -> None:
    """Every command starts by importing the CLI; aiohttp alone took a quarter of a second of
    a `newsbot ask` that lasts under one, so it and feedparser load only when a refresh fetches."""
    code = (
        "import sys, bot.cli; "
        "print(sorted(m for m in ('aiohttp', 'feedparser', 'discord') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
        env=child_env(),
    )  # fmt: skip
    assert out.stdout.strip() == "[]"
