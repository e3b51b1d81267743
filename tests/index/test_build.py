"""Building on every core gives exactly the index one core gives."""

from __future__ import annotations

import numpy as np
import pytest

from index.models import Article
from index.search import build


def _articles(n: int) -> list[Article]:
    words = "harbour council budget storm ferry election court market energy school river bridge".split()
    return [
        Article(
            id=f"a{i}",
            title=f"Story {i} about the {words[i % len(words)]}",
            text=" ".join(
                f"The {words[(i + j) % len(words)]} story number {j} grew by {i * j} percent."
                for j in range(i % 7 + 1)
            ),
            source=f"Outlet {i % 3}",
            url=f"https://news{i % 3}.example/{i}",
        )
        for i in range(n)
    ]


def test_parallel_build_equals_sequential_build(monkeypatch: pytest.MonkeyPatch) -> None:
    articles = _articles(60)
    sequential = build.build_snapshot(articles, workers=1)
    monkeypatch.setattr(build, "PARALLEL_FROM", 10)
    monkeypatch.setattr(build, "CHUNK", 7)
    parallel = build.build_snapshot(articles, workers=2)
    assert parallel.vocab == sequential.vocab
    for name in ("offsets", "docs", "tfs", "weights", "base", "term_max"):
        np.testing.assert_array_equal(
            getattr(parallel.postings, name), getattr(sequential.postings, name)
        )
    np.testing.assert_array_equal(parallel.passage_article, sequential.passage_article)
    assert parallel.texts == sequential.texts
    assert parallel.article_lines == sequential.article_lines


def test_extending_an_index_equals_building_it_whole() -> None:
    articles = _articles(40)
    whole = build.build_snapshot(articles, workers=1)
    first = build.build_snapshot(articles[:25], workers=1)
    extended = build.extend_snapshot(first, build.analyze_articles(first, articles[25:]))
    assert extended.vocab == whole.vocab
    assert extended.manifest.counts == whole.manifest.counts
    for name in ("offsets", "docs", "tfs", "weights", "base", "term_max"):
        np.testing.assert_allclose(
            getattr(extended.postings, name), getattr(whole.postings, name), rtol=1e-6
        )
    assert bytes(extended.texts) == bytes(whole.texts)
    assert bytes(extended.article_lines) == bytes(whole.article_lines)
    np.testing.assert_array_equal(extended.article_source, whole.article_source)


def test_url_host_agrees_with_urlsplit() -> None:
    from urllib.parse import urlsplit

    for url in [
        "https://www.CNN.com/2022/x",
        "http://user:pw@Example.com:8080/a?b#c",
        "https://[::1]:8000/x",
        "https://a.b.c",
    ]:
        assert build.url_host(url) == (urlsplit(url).hostname or "")


@pytest.mark.parametrize("added", [0, 6])
def test_replacing_articles_scores_as_a_rebuild_of_what_remains(added: int) -> None:
    """A refresh that updates or drops articles patches the index; every search must then
    rank and score exactly as an index built from scratch from the articles that remain."""
    articles = _articles(40)
    first = build.build_snapshot(articles[:34], workers=1)
    removed = [3, 4, 17, 33]  # scattered, and the last one
    remaining = [a for i, a in enumerate(articles[:34]) if i not in removed]
    new = articles[34 : 34 + added]
    patched = build.replace_articles(first, removed, build.analyze_articles(first, new))
    whole = build.build_snapshot(remaining + new, workers=1)
    assert patched.manifest.counts.articles == whole.manifest.counts.articles
    assert [a.id for a in patched.articles] == [a.id for a in whole.articles]
    assert [p.text for p in patched.passages] == [p.text for p in whole.passages]
    assert build.article_ids(patched) == [a.id for a in whole.articles]
    for word in sorted(whole.vocab)[:60]:
        ours = patched.postings.scores([patched.vocab[word]])
        theirs = whole.postings.scores([whole.vocab[word]])
        np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    # A word only the removed articles held matches nothing and weighs nothing.
    dead = [t for t in patched.vocab if t not in whole.vocab]
    assert dead
    for word in dead:
        assert patched.postings.best([patched.vocab[word]], 5)[0].size == 0
        assert patched.postings.base[patched.vocab[word]] == 0


def test_article_ids_are_read_back_from_the_lines_whatever_they_hold() -> None:
    """A patch finds the live articles by the ids ``article_ids`` reads from the stored lines,
    without parsing them whole: quotes, backslashes, braces and other scripts in an id (a
    JSONL archive's own ids) must come back as written, for the first line too."""
    ids = ['q"uote', "back\\slash", '{"id":"x"}', "naïve-东京", "plain", "n\nline"]
    articles = [a.model_copy(update={"id": i}) for a, i in zip(_articles(6), ids, strict=True)]
    snapshot = build.build_snapshot(articles, workers=1)
    assert sorted(build.article_ids(snapshot)) == sorted(ids)
    assert build.article_ids(snapshot) == [a.id for a in snapshot.articles]
