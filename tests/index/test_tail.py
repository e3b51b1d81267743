"""Adding a few articles weighs and writes only them, as the index's tail: today's IDF, the base's
average passage length, and the base's files linked, not written again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.ingest.reindex import reindex
from index.models import Article, SourceRef
from index.search import build, snapshot
from index.search.bm25 import weigh
from index.search.searcher import Searcher

TOPICS = "harbour ferry council budget storm bridge river school market court".split()


def _articles(start: int, n: int) -> list[Article]:
    return [
        Article(
            id=f"a{i}",
            title=f"{TOPICS[i % 10].title()} report {i}",
            text=" ".join(
                f"The {TOPICS[(i + j) % 10]} story {j} counted {i * j} ships near pier {i}."
                for j in range(1 + i % 4)
            ),
            source="Test Times",
            url=f"https://news.example/{i}",
        )
        for i in range(start, start + n)
    ]


def indexed_folder(source: Path, index: Path, store: Path, n: int) -> list[SourceRef]:
    """A folder of ``n`` articles as Markdown files, indexed through a store; its sources."""
    source.mkdir()
    for article in _articles(0, n):
        (source / f"{article.id}.md").write_text(
            f"---\ntitle: {article.title}\nurl: {article.url}\n---\n{article.text}\n",
            encoding="utf-8",
        )
    refs = [SourceRef(kind="path", location=str(source))]
    reindex(refs, index, store_path=store)
    return refs


def _extended(base: int, added: int) -> tuple[snapshot.Snapshot, snapshot.Snapshot]:
    first = build.build_snapshot(_articles(0, base))
    more = build.analyze_articles(first, _articles(base, added))
    return first, build.extend_snapshot(first, more)


def test_a_few_added_articles_become_a_tail_scored_with_todays_idf() -> None:
    first, extended = _extended(200, 10)
    tail = extended.postings.tail
    assert tail is not None and tail.n_base == first.manifest.counts.passages
    assert extended.postings.docs is first.postings.docs  # the base is not copied
    whole = build.build_snapshot(_articles(0, 210))
    offsets, docs, tfs = extended.postings.flat()
    np.testing.assert_array_equal(offsets, whole.postings.offsets)
    np.testing.assert_array_equal(docs, whole.postings.docs)
    np.testing.assert_array_equal(tfs, whole.postings.tfs)
    # Exactly BM25 over every passage with the base's average length ...
    base_avg = float(first.doc_len.sum()) / len(first.doc_len)
    exact = weigh(offsets, docs, tfs, whole.doc_len, whole.manifest.bm25, avgdl=base_avg)
    for word in ["ship", "pier", "ferri", "205", "harbour", "count"]:
        ids = [extended.vocab[word]]
        np.testing.assert_allclose(
            extended.postings.scores(ids), exact.scores(ids), rtol=1e-5, atol=1e-6
        )
        # ... which is within the 1 % length drift of a whole rebuild's scores.
        np.testing.assert_allclose(
            extended.postings.scores(ids), whole.postings.scores(ids), rtol=0.02
        )
    hits = Searcher(extended).search("pier 205 ships")
    assert hits[0].article.id == "a205"


@pytest.mark.parametrize("k", [1, 5, 20])
def test_best_over_a_tail_equals_a_full_sort(k: int) -> None:
    _, extended = _extended(200, 12)
    p = extended.postings
    assert p.tail is not None
    rng = np.random.default_rng(k)
    prior = 1 + rng.random(p.n_docs)
    allowed = rng.random(p.n_docs) > 0.2
    for words in (["ship"], ["pier", "211", "ferri"], ["council", "budget", "storm", "ship"]):
        ids = [extended.vocab[w] for w in words if w in extended.vocab]
        dense = p.scores(ids) * prior
        matched = np.zeros(p.n_docs, dtype=bool)
        for t in ids:
            matched[p.postings(t)[0]] = True
        expected = np.sort(dense[matched & allowed])[::-1][:k]
        docs, scores = p.best(ids, k, prior=prior, allowed=allowed)
        np.testing.assert_allclose(scores, expected, rtol=1e-6)
        assert (matched[docs] & allowed[docs]).all()


def test_a_tail_grows_until_it_is_merged_into_the_base() -> None:
    snap = build.build_snapshot(_articles(0, 100))
    n_base = snap.manifest.counts.passages
    added = 100
    while True:
        snap = build.extend_snapshot(snap, build.analyze_articles(snap, _articles(added, 2)))
        added += 2
        if snap.postings.tail is None:
            break
        assert snap.postings.tail.n_base == n_base
        assert snap.manifest.counts.passages - n_base <= build.TAIL_SHARE * n_base
    # Merged: weighed whole again, exactly as a fresh build of every article.
    whole = build.build_snapshot(_articles(0, added))
    np.testing.assert_allclose(snap.postings.weights, whole.postings.weights, rtol=1e-6)


def test_removing_many_articles_merges_the_tail_and_scores_as_a_rebuild() -> None:
    _, extended = _extended(200, 10)
    removed = list(range(0, 210, 9))  # 24 of 210: past the share that is only marked gone
    assert len(removed) > build.GONE_SHARE * 210
    kept = build.replace_articles(extended, removed, [])
    assert kept.postings.tail is None and kept.article_gone is None
    gone = {f"a{i}" for i in removed}
    whole = build.build_snapshot([a for a in _articles(0, 210) if a.id not in gone])
    for word in ["ship", "pier", "ferri", "204", "harbour", "count"]:
        np.testing.assert_allclose(
            kept.postings.scores([kept.vocab[word]]),
            whole.postings.scores([whole.vocab[word]]),
            rtol=1e-5,
        )


def test_a_saved_tail_links_the_base_files_and_loads_the_same(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    snapshot.save(build.build_snapshot(_articles(0, 200)), index)
    before = {f.name: f.stat().st_ino for f in snapshot.live_folder(index).iterdir()}
    live = snapshot.load(index)
    before_weights = (snapshot.live_folder(index) / "weights.npy").read_bytes()
    snapshot.save(
        build.extend_snapshot(live, build.analyze_articles(live, _articles(200, 5))), index
    )
    folder = snapshot.live_folder(index)
    after = {f.name: f.stat().st_ino for f in folder.iterdir()}
    for name in ("docs.npy", "tfs.npy", "weights.npy", "offsets.npy", "passages.txt"):
        assert after[name] == before[name], name
    assert {"tail_docs.npy", "tail_weights.npy", "tail_scale.npy"} <= set(after)
    assert not snapshot.verify(index)
    # Damage in the base's weights is found by a full check; a refresh that only links the
    # base (adding another tail) checks its size.
    weights = folder / "weights.npy"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0xFF
    weights.unlink()  # a new file: the old snapshot's link keeps the undamaged bytes
    weights.write_bytes(bytes(data))
    assert snapshot.verify(index) == ["weights.npy"]
    assert snapshot.verify(index, base_postings=False) == []
    weights.unlink()
    weights.write_bytes(bytes(before_weights))
    loaded = snapshot.load(index)
    assert loaded.manifest.base_passages == live.manifest.counts.passages
    ids = [loaded.vocab["ship"], loaded.vocab["204"]]
    in_memory = build.extend_snapshot(live, build.analyze_articles(live, _articles(200, 5)))
    np.testing.assert_allclose(loaded.postings.scores(ids), in_memory.postings.scores(ids))
    assert Searcher(loaded).search("pier 204 ships")[0].article.id == "a204"


def test_a_refresh_adding_a_few_articles_writes_a_tail(tmp_path: Path) -> None:
    source, index, store = tmp_path / "news", tmp_path / "idx", tmp_path / "store.sqlite3"
    refs = indexed_folder(source, index, store, 60)
    (source / "late.md").write_text(
        "---\ntitle: Late ferry\nurl: https://news.example/late\n---\n"
        "The late ferry carried 4,321 passengers across the sound on Sunday.\n",
        encoding="utf-8",
    )
    report = reindex(refs, index, store_path=store)
    assert report.index_update == "patched"
    live = snapshot.load(index)
    assert live.postings.tail is not None
    hit = Searcher(live).search("How many passengers did the late ferry carry?")[0]
    assert "4,321 passengers" in hit.text
    (source / "late.md").unlink()  # a removal: marked gone, the tail stays
    report = reindex(refs, index, store_path=store)
    live = snapshot.load(index)
    assert live.postings.tail is not None and report.articles == live.live_articles == 60
    hits = Searcher(live).search("How many passengers did the late ferry carry?")
    assert all("4,321" not in hit.text for hit in hits)
