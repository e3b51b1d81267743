"""A refresh writes only what it adds: the passage texts and article lines of the live index are
linked into the next one (the same files on disk), and removed ones are dropped from the files
only when they are most of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.models import Article
from index.search import blob, build, snapshot
from index.search.searcher import Searcher


def _articles(start: int, n: int) -> list[Article]:
    return [
        Article(
            id=f"a{i}",
            title=f"Harbour report {i}",
            text=f"The harbour master of pier {i} counted {i * 3} ships in the bay on Monday.",
            source="Test Times",
            url=f"https://news.example/{i}",
        )
        for i in range(start, start + n)
    ]


def _files(index: Path) -> dict[str, int]:
    """Each file of the live snapshot, by name, with its inode."""
    folder = snapshot.live_folder(index)
    return {f.name: f.stat().st_ino for f in folder.iterdir()}


def _texts_by_article(snap: snapshot.Snapshot) -> dict[str, str]:
    return {
        snap.article(int(snap.passage_article[p])).id: snap.passage_text(p)
        for p in range(snap.manifest.counts.passages)
    }


def test_adding_articles_links_the_old_texts_and_writes_only_the_new(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    snapshot.save(build.build_snapshot(_articles(0, 30)), index)
    before = _files(index)
    live = snapshot.load(index)
    snapshot.save(
        build.extend_snapshot(live, build.analyze_articles(live, _articles(30, 5))), index
    )
    after = _files(index)

    # The same files (inodes) as before, and one new part of each store.
    assert after["passages.txt"] == before["passages.txt"]
    assert after["articles.jsonl"] == before["articles.jsonl"]
    assert {"passages.1.txt", "articles.1.jsonl"} <= set(after)
    loaded = snapshot.load(index)
    assert loaded.manifest.parts["passages"] == ["passages.txt", "passages.1.txt"]
    texts = _texts_by_article(loaded)
    assert "pier 33 counted 99 ships" in texts["a33"] and "pier 2 counted 6" in texts["a2"]
    assert not snapshot.verify(index)
    hits = Searcher(loaded).search("pier 33 ships")
    assert hits[0].article.id == "a33"


def test_removed_articles_stay_unreferenced_until_they_are_most_of_the_texts(
    tmp_path: Path,
) -> None:
    index = tmp_path / "idx"
    snapshot.save(build.build_snapshot(_articles(0, 20)), index)
    first = _files(index)["passages.txt"]

    live = snapshot.load(index)
    snapshot.save(build.replace_articles(live, range(5), []), index)  # a quarter removed
    assert _files(index)["passages.txt"] == first
    kept = snapshot.load(index)
    assert set(_texts_by_article(kept)) == {f"a{i}" for i in range(5, 20)}
    assert "pier 7 counted 21" in _texts_by_article(kept)["a7"]

    snapshot.save(build.replace_articles(kept, range(10), []), index)  # most of them now gone
    compacted = snapshot.load(index)
    assert _files(index)["passages.txt"] != first  # rewritten without the removed texts
    assert len(compacted.texts) == int(np.diff(compacted.text_spans).sum())
    assert set(_texts_by_article(compacted)) == {f"a{i}" for i in range(15, 20)}
    assert not snapshot.verify(index)


def test_many_refreshes_merge_their_parts_but_keep_the_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blob, "MAX_PARTS", 3)
    index = tmp_path / "idx"
    snapshot.save(build.build_snapshot(_articles(0, 20)), index)
    base = _files(index)["passages.txt"]
    for step in range(4):
        live = snapshot.load(index)
        added = _articles(20 + step, 1)
        snapshot.save(build.extend_snapshot(live, build.analyze_articles(live, added)), index)
        assert len(snapshot.load(index).manifest.parts["passages"]) <= 3
    final = snapshot.load(index)
    assert _files(index)["passages.txt"] == base
    assert set(_texts_by_article(final)) == {f"a{i}" for i in range(24)}
    assert "pier 23 counted 69" in _texts_by_article(final)["a23"]


def test_a_damaged_text_part_is_found(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    snapshot.save(build.build_snapshot(_articles(0, 10)), index)
    live = snapshot.load(index)
    snapshot.save(
        build.extend_snapshot(live, build.analyze_articles(live, _articles(10, 2))), index
    )
    part = snapshot.live_folder(index) / "passages.1.txt"
    data = bytearray(part.read_bytes())
    data[5] ^= 0xFF
    part.write_bytes(bytes(data))
    assert snapshot.verify(index) == ["passages.1.txt"]
    # A patching refresh, which links the parts without reading them, checks their sizes only.
    assert snapshot.verify(index, text_parts=False) == []
    part.write_bytes(bytes(data[:-1]))
    assert snapshot.verify(index, text_parts=False) == ["passages.1.txt"]


def test_a_build_that_writes_its_texts_as_it_goes_links_them_and_learns_their_acronyms(
    tmp_path: Path,
) -> None:
    from index.ingest.reindex import reindex
    from index.models import SourceRef

    source = tmp_path / "news"
    source.mkdir()
    (source / "faa.md").write_text(
        "---\ntitle: Runway rules\n---\nThe Federal Aviation Administration (FAA) grounded 40 "
        "jets on Monday after a runway incident.\n",
        encoding="utf-8",
    )
    index = tmp_path / "idx"
    reindex([SourceRef(kind="path", location=str(source))], index, store_path=tmp_path / "s.db")
    live = snapshot.load(index)
    assert live.aliases.get("faa") == "Federal Aviation Administration"
    assert "grounded 40 jets" in live.passage_text(0)
    # The texts were written to a scratch folder as the build went, linked into the snapshot,
    # and the scratch folder is gone.
    assert [p.name for p in (index / "snapshots").iterdir()] == [snapshot.live_folder(index).name]
    assert (snapshot.live_folder(index) / "passages.txt").stat().st_nlink == 1


def test_a_first_build_of_an_archive_holding_two_versions_keeps_the_last(tmp_path: Path) -> None:
    """The first build indexes the archive as it reads it, then drops what a later line
    replaced, weighing once what remains: the same index as an archive without the old line."""
    import json

    from index.ingest.reindex import reindex
    from index.models import SourceRef

    def line(n: int, ships: int) -> str:
        return json.dumps(
            {
                "url": f"https://news.example/pier/{n}",
                "title": f"Pier {n}",
                "text": f"The harbour master of pier {n} counted {ships} ships in the bay.",
            }
        )

    both = tmp_path / "both.jsonl"
    both.write_text("\n".join([line(1, 41), *(line(n, n) for n in range(2, 12)), line(1, 97)]))
    last = tmp_path / "last.jsonl"
    last.write_text("\n".join([*(line(n, n) for n in range(2, 12)), line(1, 97)]))
    for name, archive in (("both", both), ("last", last)):
        reindex(
            [SourceRef(kind="path", location=str(archive))],
            tmp_path / name,
            store_path=tmp_path / f"{name}.db",
        )
    kept, expected = snapshot.load(tmp_path / "both"), snapshot.load(tmp_path / "last")
    texts = " ".join(kept.passage_text(p) for p in range(kept.manifest.counts.passages))
    assert "97 ships" in texts and "41 ships" not in texts  # not even in the files
    assert kept.article_gone is None
    assert kept.manifest.counts.articles == expected.manifest.counts.articles == 11
    for word in ("ship", "pier", "harbour", "97"):
        np.testing.assert_allclose(
            np.sort(kept.postings.scores([kept.vocab[word]])),
            np.sort(expected.postings.scores([expected.vocab[word]])),
            rtol=1e-6,
        )
