"""A reindex killed with SIGKILL mid-run loses nothing: the old index serves, the store is consistent."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from index.answer.answerer import Answerer
from index.ingest.store import ArticleStore
from index.search import snapshot
from index.search.searcher import Searcher
from tests.bot.test_cli import run
from tests.corpus import write_corpus
from tests.helpers import child_env, newsbot_command
from tests.news_server import NewsServer, article_page, harbour_feed, loopback_fetch_toml, rss


def test_sigkill_during_reindex_keeps_the_previous_index_and_a_consistent_store(
    tmp_path: Path,
) -> None:
    write_corpus(tmp_path / "news")
    with NewsServer() as server:
        first, feed = harbour_feed(server, page_path="/a/one")
        config = tmp_path / "newsbot.toml"
        config.write_text(
            f'[index]\npath = "idx"\n\n[[sources]]\npath = "news"\n\n[[sources]]\nfeed = "{feed}"\n\n'
            + loopback_fetch_toml(read_timeout=120),
            encoding="utf-8",
        )
        env = child_env()
        ok = run("reindex", "--config", str(config))
        assert ok.returncode == 0, ok.stderr
        before = (tmp_path / "idx" / "CURRENT").read_text()

        more = [
            server.add(
                f"/a/n{i}",
                article_page(
                    f"Story {i}",
                    [
                        f"Ferry number {i} carried {i * 100} passengers across the bay on Saturday morning."
                    ],
                ),
            )
            for i in range(5)
        ]
        stalled = server.add("/a/stalled", stall=True)
        items = [{"title": "Harbour reopens", "link": first}] + [
            {"title": f"Story {i}", "link": u} for i, u in enumerate(more)
        ]
        server.add(
            "/feed.rss",
            rss("Coast News", [*items, {"title": "Stalled", "link": stalled}]),
            content_type="application/rss+xml",
        )
        child = subprocess.Popen(
            [newsbot_command(), "reindex", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            assert server.wait_for_request("/a/stalled", timeout=60), (
                "the child never reached the stalled page"
            )
            child.send_signal(signal.SIGKILL)
            child.wait(30)
        finally:
            if child.poll() is None:
                child.kill()
        assert child.returncode == -signal.SIGKILL

        # The previous snapshot is still the live one, complete, and answers.
        assert (tmp_path / "idx" / "CURRENT").read_text() == before
        loaded = snapshot.load(tmp_path / "idx")
        answer = Answerer(Searcher(loaded)).answer("When did the harbour reopen?")
        assert answer.sentence is not None and "Friday" in answer.sentence.text

        # The store is consistent: intact, no passages without their article, analysis all-or-nothing.
        store_path = tmp_path / "idx.articles.sqlite3"
        with ArticleStore(store_path) as store:
            assert store.integrity_ok()
        db = sqlite3.connect(store_path)
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        half = db.execute(
            "SELECT COUNT(*) FROM articles a WHERE a.analysis IS NOT NULL AND NOT EXISTS (SELECT 1 FROM analyses n WHERE n.article_id = a.id)"
        ).fetchone()[0]
        assert half == 0
        db.close()

        # With the page answering again, the next reindex completes and finds the new stories.
        server.add(
            "/a/stalled",
            article_page(
                "Stalled",
                [
                    "The delayed report finally arrived on Sunday with figures for the whole harbour season."
                ],
            ),
        )
        again = run("reindex", "--config", str(config))
        assert again.returncode == 0, again.stderr
        titles = {a.title for a in snapshot.load(tmp_path / "idx").articles}
        assert {"Story 0", "Story 4", "Stalled", "Harbour reopens"} <= titles


def _write_version(folder: Path, version: int, n: int = 400) -> None:
    folder.mkdir(exist_ok=True)
    lines = []
    for i in range(n):
        text = (
            f"Dock {i} of the harbour reported version {version} of its ledger today. "
            + " ".join(f"word{(i * 7 + k) % 97}" for k in range(60))
            + "."
        )
        lines.append(json.dumps({"url": f"https://harbour.example/{i}", "title": f"Dock {i}", "text": text, "published": "2024-05-01", "source": "Harbour"}))  # fmt: skip
    (folder / "docks.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _versions_served(index: Path) -> set[str]:
    texts = [passage.text for passage in snapshot.load(index).passages]  # those still there
    return {t.split("version ")[1].split()[0] for t in texts if "version " in t}


@pytest.mark.slow
def test_twenty_sigkills_at_random_moments_never_leave_a_mixed_or_stale_index(
    tmp_path: Path,
) -> None:
    """Kill `newsbot reindex` at random points while the source flips between two versions: the
    index always serves one whole version, and the next reindex always converges."""
    news = tmp_path / "news"
    config = tmp_path / "newsbot.toml"
    config.write_text(f'[index]\npath = "idx"\n\n[[sources]]\npath = "{news}"\n', encoding="utf-8")
    _write_version(news, 0)
    assert run("reindex", "--config", str(config)).returncode == 0
    rng = random.Random(7)
    killed = converged = 0
    for trial in range(1, 21):
        _write_version(news, trial)
        started = time.monotonic()
        process = subprocess.Popen(
            [newsbot_command(), "reindex", "--config", str(config)],
            env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        # Anywhere from the imports to the swap: a full run here takes about 1.5 s.
        try:
            process.wait(timeout=rng.uniform(0.2, 2.5))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed += 1
        served = _versions_served(tmp_path / "idx")
        assert len(served) == 1, (trial, served, time.monotonic() - started)  # one whole version
        again = run("reindex", "--config", str(config))
        assert again.returncode == 0, again.stderr
        if _versions_served(tmp_path / "idx") == {str(trial)}:
            converged += 1
    assert killed >= 10, f"only {killed} of 20 runs were killed mid-way; tune the timings"
    assert converged == 20
