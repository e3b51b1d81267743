"""A refresh that removes or replaces a few articles marks them gone instead of rewriting the
postings: no search, brief or count sees them, the base's files are linked as they are, and
past a share of the index they are taken out and every score equals a rebuild's again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.errors import IndexCorruptError
from index.ingest.reindex import reindex
from index.search import build, snapshot
from index.search.searcher import Searcher
from tests.index.test_tail import _articles, indexed_folder


def _ids(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [hit.article.id for hit in hits]


def test_a_few_removed_articles_are_marked_and_never_found() -> None:
    first = build.build_snapshot(_articles(0, 200))
    extended = build.extend_snapshot(first, build.analyze_articles(first, _articles(200, 10)))
    marked = build.replace_articles(extended, [3, 205], [])
    # Nothing of the postings is rewritten: the same arrays, the same tail.
    assert marked.postings is extended.postings
    assert marked.article_gone is not None and np.flatnonzero(marked.article_gone).tolist() == [
        3,
        205,
    ]
    assert marked.live_articles == 208 and len(marked.articles) == 208
    assert {"a3", "a205"}.isdisjoint(a.id for a in marked.articles)
    searcher = Searcher(marked)
    for question in ("pier 3 ships", "pier 205 ships", "harbour report 3", "ships"):
        assert {"a3", "a205"}.isdisjoint(_ids(searcher.search(question, 50)))
    assert searcher.search("pier 204 ships")[0].article.id == "a204"
    assert {"a3", "a205"}.isdisjoint(_ids(searcher.newest(300)))
    assert int(searcher.visible(None).sum()) == 208
    # Scored within a few percent of a rebuild of what remains: the statistics still count
    # the gone passages until they are taken out.
    whole = build.build_snapshot([a for a in _articles(0, 210) if a.id not in {"a3", "a205"}])
    rebuilt = Searcher(whole)
    for question in ("pier 204 ships", "council budget 17", "storm bridge river 150"):
        ours = {h.article.id: h.score for h in searcher.search(question, 20)}
        theirs = {h.article.id: h.score for h in rebuilt.search(question, 20)}
        assert max(ours, key=ours.__getitem__) == max(theirs, key=theirs.__getitem__)
        for article in set(ours) & set(theirs):
            assert ours[article] == pytest.approx(theirs[article], rel=0.03)


def test_marks_add_up_until_the_gone_articles_are_taken_out() -> None:
    snap = build.build_snapshot(_articles(0, 100))
    removed: list[int] = []
    for step in range(20):
        ids = build.article_ids(snap)
        picks = [ids.index(f"a{n}") for n in range(step * 3, step * 3 + 3)]
        snap = build.replace_articles(snap, picks, [])
        removed += picks
        if snap.article_gone is None:
            break
        assert snap.manifest.gone == len(removed) <= build.GONE_SHARE * 100
    assert snap.article_gone is None and snap.manifest.gone == 0
    # Taken out: weighed whole again, exactly as a fresh build of what remains.
    remaining = [a for a in _articles(0, 100) if int(a.id[1:]) >= len(removed)]
    whole = build.build_snapshot(remaining)
    assert [a.id for a in snap.articles] == [a.id for a in whole.articles]
    for word in ("ship", "pier", "ferri", "99", "harbour", "count"):
        np.testing.assert_allclose(
            snap.postings.scores([snap.vocab[word]]),
            whole.postings.scores([whole.vocab[word]]),
            rtol=1e-5,
        )


def test_a_replaced_article_is_found_in_its_new_version_only() -> None:
    first = build.build_snapshot(_articles(0, 100))
    newer = _articles(7, 1)[0].model_copy(
        update={"text": "The ferry story counted 9,999 ships near pier 7 after the storm."}
    )
    ids = build.article_ids(first)
    patched = build.replace_articles(
        first, [ids.index("a7")], build.analyze_articles(first, [newer])
    )
    assert patched.postings.tail is not None and patched.article_gone is not None
    assert build.article_ids(patched).count("a7") == 2  # the old row stays, marked
    hits = Searcher(patched).search("ships near pier 7", 50)
    texts = [h.text for h in hits if h.article.id == "a7"]
    assert texts and all("9,999" in t for t in texts)


def test_marks_are_saved_with_the_base_linked_and_damage_is_found(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    snapshot.save(build.build_snapshot(_articles(0, 200)), index)
    before = {f.name: f.stat().st_ino for f in snapshot.live_folder(index).iterdir()}
    live = snapshot.load(index)
    snapshot.save(build.replace_articles(live, [5, 6], []), index)
    folder = snapshot.live_folder(index)
    after = {f.name: f.stat().st_ino for f in folder.iterdir()}
    for name in ("docs.npy", "tfs.npy", "weights.npy", "offsets.npy", "passages.txt"):
        assert after[name] == before[name], name
    assert not snapshot.verify(index)
    loaded = snapshot.load(index)
    assert loaded.manifest.gone == 2 and loaded.live_articles == 198
    assert loaded.article_gone is not None and loaded.article_gone[[5, 6]].all()
    assert {"a5", "a6"}.isdisjoint(_ids(Searcher(loaded).search("pier 5 6 ships", 50)))
    gone = folder / "article_gone.npy"
    data = bytearray(gone.read_bytes())
    data[-1] ^= 0x01  # article 199 marked gone by a flipped bit
    gone.unlink()
    gone.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError):
        snapshot.load(index)


def test_a_refresh_updating_and_removing_a_few_marks_them_and_reports_what_is_there(
    tmp_path: Path,
) -> None:
    source, index, store = tmp_path / "news", tmp_path / "idx", tmp_path / "store.sqlite3"
    refs = indexed_folder(source, index, store, 60)
    (source / "a4.md").write_text(
        "---\ntitle: Council report 4\nurl: https://news.example/4\n---\n"
        "The council counted 8,888 ships near pier 4 this year.\n",
        encoding="utf-8",
    )
    (source / "a9.md").unlink()
    report = reindex(refs, index, store_path=store)
    assert report.index_update == "patched"
    assert (report.counts.updated, report.removed, report.articles) == (1, 1, 59)
    live = snapshot.load(index)
    assert live.manifest.gone == 2 and live.live_articles == 59
    searcher = Searcher(live)
    assert "8,888" in searcher.search("How many ships near pier 4?")[0].text
    assert "a9" not in _ids(searcher.search("pier 9 ships", 50))
    again = reindex(refs, index, store_path=store)
    assert (again.index_update, again.articles) == ("unchanged", 59)
