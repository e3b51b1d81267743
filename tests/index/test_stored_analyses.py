"""Analyses are stored compactly (term ids into the store's vocabulary), read back exactly, and
a store of the older form (a row of text and terms per passage) upgrades by itself."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.ingest.chunking import ChunkingConfig
from index.ingest.reindex import reindex
from index.ingest.store import ArticleStore
from index.models import Article, SourceRef
from index.search import snapshot
from index.search.analyzed import AnalyzedArticle
from index.search.analyzer import Analyzer
from index.search.build import analysis_fingerprint, analyze_article
from index.search.searcher import Searcher

LONG = " ".join(
    f"Ferry {i} left the harbour at dawn and carried {i * 40} passengers across the bay."
    for i in range(60)
)  # long enough for several overlapping passages


def _article(i: int, text: str) -> Article:
    return Article(id=f"a{i}", title=f"Story {i}", text=text, url=f"https://news.example/{i}")


def _folder(folder: Path) -> list[SourceRef]:
    folder.mkdir(exist_ok=True)
    texts = {0: LONG, 1: "The Meta company will own 600,000 GPUs, its chief said.", 2: "Rain."}
    for i, text in texts.items():
        (folder / f"s{i}.md").write_text(
            f"---\ntitle: Story {i}\nurl: https://news.example/{i}\n---\n{text}\n",
            encoding="utf-8",
        )
    return [SourceRef(kind="path", location=str(folder))]


def _ranked(index: Path, question: str) -> list[tuple[str, str, float]]:
    hits = Searcher(snapshot.load(index)).search(question, 20)
    return [(h.article.title, h.text, round(h.score, 6)) for h in hits]


FINGERPRINT = analysis_fingerprint(Analyzer().config, ChunkingConfig())


def test_an_analysis_reads_back_exactly_and_its_terms_are_four_bytes_each(tmp_path: Path) -> None:
    analyzer, chunking = Analyzer(), ChunkingConfig()
    articles = [_article(0, LONG), _article(1, "Ferry fares rose, the harbour board said.")]
    analyses = [analyze_article(a, analyzer, chunking) for a in articles]
    assert len(analyses[0]) > 2  # several passages, overlapping
    with ArticleStore(tmp_path / "s.sqlite3") as store:
        for article, analyzed in zip(articles, analyses, strict=True):
            store.put_analyzed(article, "o", analyzed, FINGERPRINT)
        read = dict(store.analyzed(FINGERPRINT))
    by_id = {meta.id: analyzed for meta, analyzed in read.items()}
    for article, analyzed in zip(articles, analyses, strict=True):
        assert by_id[article.id].passages() == analyzed.passages()
    db = sqlite3.connect(tmp_path / "s.sqlite3")
    for article_id, blob in db.execute("SELECT article_id, terms FROM analyses"):
        assert len(blob) == 4 * int(by_id[article_id].term_counts.sum())
    # Each distinct term once, shared by both articles, numbered 0, 1, 2, ...
    terms = [t for (t,) in db.execute("SELECT term FROM terms ORDER BY id")]
    distinct = {t for a in analyses for _, ts in a.passages() for t in ts}
    assert sorted(terms) == sorted(distinct)
    ids = [i for (i,) in db.execute("SELECT id FROM terms ORDER BY id")]
    assert ids == list(range(len(ids)))
    assert not db.execute(
        "SELECT name FROM sqlite_master WHERE name='passages'"
    ).fetchall()  # no row per passage
    db.close()


def test_terms_of_a_rolled_back_batch_are_not_trusted_afterwards(tmp_path: Path) -> None:
    analyzer, chunking = Analyzer(), ChunkingConfig()
    first = _article(0, "Zeppelins returned to the harbour.")
    second = _article(1, "Zeppelins and gondolas crowded the harbour.")
    with ArticleStore(tmp_path / "s.sqlite3") as store:
        with pytest.raises(RuntimeError), store.batch():
            store.put_analyzed(first, "o", analyze_article(first, analyzer, chunking), FINGERPRINT)
            raise RuntimeError("the batch fails after its terms were added")
        # The same store object goes on: "zeppelin" was never committed, so its id must not be
        # reused from memory for an analysis that is.
        expected = analyze_article(second, analyzer, chunking)
        store.put_analyzed(second, "o", expected, FINGERPRINT)
        [(meta, analyzed)] = list(store.analyzed(FINGERPRINT))
    assert meta.id == "a1" and analyzed.passages() == expected.passages()


def test_a_rebuild_from_the_store_reads_stored_numbers_and_equals_the_first_build(
    tmp_path: Path,
) -> None:
    source = _folder(tmp_path / "news")
    store = tmp_path / "store.sqlite3"
    first = reindex(source, tmp_path / "idx", store_path=store)
    assert first.analyzed == 3
    shutil.copytree(tmp_path / "idx", tmp_path / "first")
    shutil.rmtree(tmp_path / "idx")
    again = reindex(source, tmp_path / "idx", store_path=store)
    assert (again.analyzed, again.index_update) == (0, "rebuilt")
    for question in ("ferry harbour passengers", "how many GPUs will Meta own", "rain"):
        assert _ranked(tmp_path / "idx", question) == _ranked(tmp_path / "first", question)


def test_a_store_of_the_older_form_upgrades_and_its_articles_are_analyzed_again(
    tmp_path: Path,
) -> None:
    source = _folder(tmp_path / "news")
    store = tmp_path / "store.sqlite3"
    _store_of_schema_1(source, tmp_path / "idx", store)
    _reindexed_whole_again(source, tmp_path / "idx", store)
    db = sqlite3.connect(store)
    assert db.execute("SELECT value FROM meta WHERE key='schema'").fetchone() == ("2",)
    assert not db.execute("SELECT name FROM sqlite_master WHERE name='passages'").fetchall()
    assert db.execute("SELECT COUNT(*) FROM analyses").fetchone() == (3,)
    db.close()


def _reindexed_whole_again(source: list[SourceRef], index: Path, store: Path) -> None:
    """The next reindex analyzes every article again and serves them."""
    report = reindex(source, index, store_path=store)
    assert (report.analyzed, report.articles) == (3, 3)
    [top, *_] = Searcher(snapshot.load(index)).search("GPUs Meta own", 3)
    assert "600,000" in top.text


def _store_of_schema_1(source: list[SourceRef], index: Path, store: Path) -> None:
    """A store as newsbot wrote it before: a row of text and space-joined terms per passage,
    under an older fingerprint."""
    reindex(source, index, store_path=store)
    db = sqlite3.connect(store)
    with db:
        db.execute("DROP TABLE analyses")
        db.execute("DROP TABLE terms")
        db.execute(
            "CREATE TABLE passages (article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE"
            " CASCADE, position INTEGER NOT NULL, text TEXT NOT NULL, terms TEXT NOT NULL,"
            " PRIMARY KEY (article_id, position))"
        )
        db.execute("INSERT INTO passages SELECT id, 0, text, 'ferri harbour' FROM articles")
        db.execute("UPDATE articles SET analysis='0123456789abcdef'")
        db.execute("UPDATE meta SET value='1' WHERE key='schema'")
    db.close()


# Opens the store in a child that dies by SIGKILL as the upgrade marks its schema, after the old
# table was dropped in the same transaction.
_DIE_UPGRADING = """
import os, signal, sqlite3, sys
from pathlib import Path

connect = sqlite3.connect

def dying_connect(*args, **kwargs):
    db = connect(*args, **kwargs)
    def trace(sql):
        if "UPDATE meta SET value" in sql and "schema" in sql:
            os.kill(os.getpid(), signal.SIGKILL)
    db.set_trace_callback(trace)
    return db

sqlite3.connect = dying_connect
from index.ingest.store import ArticleStore
ArticleStore(Path(sys.argv[1]))
"""


def test_an_upgrade_killed_midway_leaves_the_old_store_and_the_next_run_upgrades(
    tmp_path: Path,
) -> None:
    source = _folder(tmp_path / "news")
    store = tmp_path / "store.sqlite3"
    _store_of_schema_1(source, tmp_path / "idx", store)
    child = subprocess.run(
        [sys.executable, "-c", _DIE_UPGRADING, str(store)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    db = sqlite3.connect(store)
    assert db.execute("SELECT value FROM meta WHERE key='schema'").fetchone() == ("1",)
    assert db.execute("SELECT COUNT(*) FROM passages").fetchone() == (3,)  # not dropped
    db.close()
    _reindexed_whole_again(source, tmp_path / "idx", store)


def test_a_compact_analysis_keeps_each_passage_and_its_terms() -> None:
    passages = [("First text.", ["first", "text", "first"]), ("Ünïcode ok", ["unicod", "ok"])]
    analyzed = AnalyzedArticle.of(passages)
    assert analyzed.passages() == passages
    assert list(analyzed.vocab) == ["first", "text", "unicod", "ok"]
    assert analyzed.ids.dtype == np.int32 and analyzed.ids.tolist() == [0, 1, 0, 2, 3]
    assert AnalyzedArticle.of([]).passages() == []
