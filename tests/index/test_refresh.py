"""Refreshing from feeds and pages over real HTTP, served by a local server the test starts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from index.answer.answerer import Answerer
from index.ingest.fetch import FetchConfig
from index.ingest.reindex import ReindexReport, reindex
from index.ingest.store import ArticleStore
from index.models import SourceRef
from index.search import snapshot
from index.search.searcher import Searcher
from tests.news_server import LOOPBACK_ALLOW, NewsServer, article_page, atom, rss

FETCH = FetchConfig(connect_timeout=2, read_timeout=1.0, max_bytes=50_000, **LOOPBACK_ALLOW)
GPU_TEXT = [
    "Meta expects to own almost 600,000 GPUs by the end of 2024, its chief executive said on Thursday.",
    "The company bought about 150,000 H100 chips in 2023, as many as Microsoft did.",
]
RAIN_TEXT = [
    "Heavy rain flooded the riverside district on Tuesday and closed two bridges for the day."
]
CUP_TEXT = [
    "Spain won the Women's World Cup, beating England one goal to nil in the final in Sydney."
]


class Site:
    """A local news site with an RSS feed and an Atom feed."""

    def __init__(self, server: NewsServer) -> None:
        self.server = server
        s = server
        self.gpu = s.add(
            "/tech/meta-gpus",
            article_page(
                "Meta's GPU build-out",
                GPU_TEXT,
                canonical=s.url("/tech/meta-gpus"),
                date="2024-01-19",
                site="Example Tech",
            ),
        )
        self.rain = s.add(
            "/local/rain", article_page("Floods close bridges", RAIN_TEXT, date="2024-01-16")
        )
        self.cup = s.add("/sport/cup", article_page("Spain win the World Cup", CUP_TEXT))
        self.rss = s.add(
            "/feeds/tech.rss",
            rss("Example Tech", [{"title": "Meta's GPU build-out", "link": self.gpu + "?utm_source=rss&utm_medium=feed"},
                                 {"title": "Floods close bridges", "link": self.rain, "date": "Tue, 16 Jan 2024 08:00:00 GMT"}]),
            content_type="application/rss+xml", etag='"tech-v1"',
        )  # fmt: skip
        self.atom = s.add(
            "/feeds/sport.atom",
            atom("Sport Daily", [{"title": "Spain win the World Cup", "link": self.cup, "updated": "2023-08-20T12:00:00Z"}]),
            content_type="application/atom+xml", last_modified="Sun, 20 Aug 2023 12:00:00 GMT",
        )  # fmt: skip

    def sources(self, *extra: SourceRef) -> list[SourceRef]:
        return [
            SourceRef(kind="feed", location=self.rss),
            SourceRef(kind="feed", location=self.atom),
            *extra,
        ]


@pytest.fixture
def site() -> Site:
    with NewsServer() as server:
        yield Site(server)


def refresh(tmp_path: Path, sources: list[SourceRef], **options: object) -> ReindexReport:
    return reindex(
        sources, tmp_path / "idx", store_path=tmp_path / "store.sqlite3", fetch=FETCH, **options
    )  # type: ignore[arg-type]


def ask(tmp_path: Path, question: str) -> Answerer:
    return Answerer(Searcher(snapshot.load(tmp_path / "idx"))).answer(question)


def test_first_reindex_indexes_every_article_with_its_metadata(tmp_path: Path, site: Site) -> None:
    report = refresh(tmp_path, site.sources())
    assert report.problems == []
    assert (report.counts.new, report.articles) == (3, 3)
    articles = {a.title: a for a in snapshot.load(tmp_path / "idx").articles}
    gpu = articles["Meta's GPU build-out"]
    assert gpu.source == "Example Tech" and gpu.url == site.gpu  # canonical, without utm_*
    assert gpu.published is not None and gpu.published.date().isoformat() == "2024-01-19"
    rain = articles["Floods close bridges"]
    assert rain.source == "Example Tech"  # outlet from the feed when the page names none
    cup = articles["Spain win the World Cup"]
    assert cup.source == "Sport Daily" and cup.authors == ("A. Writer",)
    assert (
        cup.published is not None and cup.published.date().isoformat() == "2023-08-20"
    )  # from the feed entry
    answer = ask(tmp_path, "How many GPUs will Meta have?")
    assert answer.sentence is not None and "600,000" in answer.sentence.highlight
    assert "Subscribe" not in gpu.title and all(
        "Privacy" not in p.text for p in snapshot.load(tmp_path / "idx").passages
    )


def test_an_unchanged_reindex_costs_one_304_per_feed_and_reprocesses_nothing(
    tmp_path: Path, site: Site
) -> None:
    refresh(tmp_path, site.sources())
    site.server.clear()
    report = refresh(tmp_path, site.sources())
    requests = site.server.requests
    assert sorted(r.path for r in requests) == ["/feeds/sport.atom", "/feeds/tech.rss"]
    assert site.server.hits("/feeds/tech.rss")[0].headers["If-None-Match"] == '"tech-v1"'
    assert site.server.hits("/feeds/tech.rss")[0].headers["User-Agent"].startswith("newsbot/")
    assert (
        site.server.hits("/feeds/sport.atom")[0].headers["If-Modified-Since"]
        == "Sun, 20 Aug 2023 12:00:00 GMT"
    )
    assert (report.counts.fetched, report.counts.new, report.counts.updated, report.analyzed) == (
        0,
        0,
        0,
        0,
    )
    assert report.articles == 3 and report.removed == 0


def test_a_changed_feed_adds_the_new_item_and_replaces_the_updated_one(
    tmp_path: Path, site: Site
) -> None:
    refresh(tmp_path, site.sources())
    s = site.server
    s.add(
        "/tech/meta-gpus",
        article_page(
            "Meta's GPU build-out",
            [*GPU_TEXT, "Update: the count now includes AMD accelerators."],
            canonical=site.gpu,
            date="2024-01-19",
        ),
    )
    new = s.add(
        "/tech/nvidia",
        article_page(
            "Nvidia results",
            ["Nvidia's data centre revenue tripled to $18.4 billion in the quarter."],
        ),
    )
    s.add(
        "/feeds/tech.rss",
        rss("Example Tech", [{"title": "Meta's GPU build-out", "link": site.gpu, "date": "Sat, 20 Jan 2024 10:00:00 GMT"},
                             {"title": "Floods close bridges", "link": site.rain, "date": "Tue, 16 Jan 2024 08:00:00 GMT"},
                             {"title": "Nvidia results", "link": new}]),
        content_type="application/rss+xml", etag='"tech-v2"',
    )  # fmt: skip
    s.clear()
    report = refresh(tmp_path, site.sources())
    assert (report.counts.new, report.counts.updated) == (1, 1)
    assert report.articles == 4
    assert "/local/rain" not in [r.path for r in s.requests]  # unchanged entry: no page fetch
    texts = [p.text for p in snapshot.load(tmp_path / "idx").passages if "600,000" in p.text]
    assert len(texts) == 1 and "AMD" in texts[0]  # one article, the new version


def test_tracking_parameters_and_canonical_urls_make_one_article(
    tmp_path: Path, site: Site
) -> None:
    direct = SourceRef(kind="url", location=site.gpu + "?utm_campaign=social#comments")
    report = refresh(tmp_path, site.sources(direct))
    assert report.articles == 3
    assert report.counts.new + report.counts.duplicates + report.counts.unchanged >= 4


def test_bad_sources_are_reported_and_good_ones_still_indexed(tmp_path: Path, site: Site) -> None:
    s = site.server
    bad = {
        s.add(
            "/bad/malformed.rss",
            "<rss><channel><item><title>broken",
            content_type="application/rss+xml",
        ): "not a valid RSS or Atom feed",
        s.add(
            "/bad/html-as-feed",
            article_page("Home", ["Welcome to our site."]),
            content_type="text/html",
        ): "not an RSS or Atom feed (got an HTML page)",
        s.url("/bad/missing"): "HTTP 404",
        s.add("/bad/error", "oops", status=500, content_type="text/plain"): "HTTP 500",
        s.add("/bad/stall", stall=True): "timed out",
        s.add(
            "/bad/huge", b"<rss>" + b"x" * 60_000, content_type="application/rss+xml"
        ): "over the 50,000-byte limit",
        s.add("/bad/loop-a", location=s.url("/bad/loop-b")): "redirect loop",
        s.add(
            "/bad/image", b"\x89PNG\r\n", content_type="image/png"
        ): "unexpected content type image/png",
    }
    s.add("/bad/loop-b", location=s.url("/bad/loop-a"))
    pages = {
        s.add(
            "/bad/report.pdf", b"%PDF-1.7 ...", content_type="application/pdf"
        ): "unexpected content type application/pdf",
        s.add("/bad/empty", b"", content_type="text/html"): "empty response body",
        s.add("/bad/blank", "<html><body><nav>Home</nav></body></html>"): "no article text",
    }
    sources = site.sources(
        *(SourceRef(kind="feed", location=u) for u in bad),
        *(SourceRef(kind="url", location=u) for u in pages),
    )
    report = refresh(tmp_path, sources)
    reasons = {p.origin: p.reason for p in report.problems}
    for url, expected in {**bad, **pages}.items():
        assert expected in reasons.get(url, ""), f"{url}: {reasons.get(url)!r}"
    assert report.articles == 3  # the good feeds
    assert report.counts.failed == len(bad) + len(pages)
    with ArticleStore(tmp_path / "store.sqlite3") as store:
        states = {st.url: st for st in store.all_fetch_states()}
    assert states[s.url("/bad/error")].consecutive_failures == 1
    assert states[site.rss].last_success is not None and states[site.rss].consecutive_failures == 0


def test_retention_prunes_old_articles_and_dropped_sources_leave(
    tmp_path: Path, site: Site
) -> None:
    window = (datetime.now(UTC) - datetime(2023, 12, 31, tzinfo=UTC)).days
    report = refresh(tmp_path, site.sources(), retention_days=window)
    titles = {a.title for a in snapshot.load(tmp_path / "idx").articles}
    assert "Spain win the World Cup" not in titles  # published 2023-08-20, older than the window
    assert report.articles == 2
    local = SourceRef(kind="path", location=str(_one_file(tmp_path)))
    report = refresh(
        tmp_path, [SourceRef(kind="feed", location=site.atom), local], retention_days=window
    )
    assert report.removed == 2  # the tech feed is no longer configured
    assert {a.title for a in snapshot.load(tmp_path / "idx").articles} == {"One"}


def test_folders_and_feeds_together_and_folder_deletions(tmp_path: Path, site: Site) -> None:
    folder = tmp_path / "local"
    folder.mkdir()
    (folder / "note.md").write_text(
        "---\ntitle: Council budget\n---\nThe council approved a budget of 12 million euros.",
        encoding="utf-8",
    )
    local = SourceRef(kind="path", location=str(folder), name="Town Hall")
    first = refresh(tmp_path, site.sources(local))
    assert first.articles == 4
    assert any(a.source == "Town Hall" for a in snapshot.load(tmp_path / "idx").articles)
    (folder / "note.md").unlink()
    (folder / "other.md").write_text(
        "Title\nSomething else entirely happened here.", encoding="utf-8"
    )
    second = refresh(tmp_path, site.sources(local))
    assert second.removed == 1 and second.counts.new == 1
    assert "Council budget" not in {a.title for a in snapshot.load(tmp_path / "idx").articles}


def test_store_holds_articles_passages_and_feed_state(tmp_path: Path, site: Site) -> None:
    refresh(tmp_path, site.sources())
    with ArticleStore(tmp_path / "store.sqlite3") as store:
        assert store.integrity_ok()
        assert store.count() == 3
        assert store.count_by_origin() == {f"feed:{site.rss}": 2, f"feed:{site.atom}": 1}
        rss_state = store.fetch_state(site.rss)
        assert rss_state is not None and rss_state.etag == '"tech-v1"'


def test_only_http_and_https_are_fetched(tmp_path: Path) -> None:
    report = refresh(
        tmp_path,
        [
            SourceRef(kind="url", location="file:///etc/passwd"),
            SourceRef(kind="path", location=str(_one_file(tmp_path))),
        ],
    )
    assert "only http and https" in report.problems[0].reason


def _one_file(tmp_path: Path) -> Path:
    path = tmp_path / "one.txt"
    path.write_text("One\nA single local story so that the index is not empty.", encoding="utf-8")
    return path


def test_a_reindex_that_only_adds_extends_the_index_and_scores_as_a_rebuild(tmp_path: Path) -> None:
    folder = tmp_path / "local"
    folder.mkdir()
    for i in range(6):
        (folder / f"s{i}.md").write_text(
            f"Story {i}\nThe ferry number {i} carried {i * 40} passengers across the harbour bay.",
            encoding="utf-8",
        )
    source = [SourceRef(kind="path", location=str(folder))]
    refresh(tmp_path, source)
    before = snapshot.live_folder(tmp_path / "idx")
    (folder / "s9.md").write_text(
        "Story 9\nA new ferry route opened across the harbour bay with 900 passengers.",
        encoding="utf-8",
    )
    report = refresh(tmp_path, source)
    assert (report.counts.new, report.analyzed, report.articles) == (1, 1, 7)
    assert snapshot.live_folder(tmp_path / "idx") != before
    extended = snapshot.load(tmp_path / "idx")
    rebuilt_report = reindex(source, tmp_path / "rebuilt", store_path=tmp_path / "other.sqlite3")
    assert rebuilt_report.articles == 7
    rebuilt = snapshot.load(tmp_path / "rebuilt")
    question = "ferry passengers harbour bay route"
    ours = sorted(
        (h.article.title, round(h.score, 5)) for h in Searcher(extended).search(question, 10)
    )
    theirs = sorted(
        (h.article.title, round(h.score, 5)) for h in Searcher(rebuilt).search(question, 10)
    )
    assert ours == theirs


def _ferry(i: int, text: str) -> str:
    return f"---\ntitle: Story {i}\nurl: https://news.example/ferry/{i}\n---\n{text}\n"


def _ferry_folder(folder: Path, n: int) -> None:
    folder.mkdir(exist_ok=True)
    for i in range(n):
        (folder / f"s{i}.md").write_text(
            _ferry(i, f"The ferry number {i} carried {i * 40} passengers across the harbour bay."),
            encoding="utf-8",
        )


def _ranked(index: Path, question: str) -> list[tuple[str, float]]:
    return sorted(
        (h.article.title, round(h.score, 5))
        for h in Searcher(snapshot.load(index)).search(question, 20)
    )


def test_a_reindex_that_updates_and_removes_a_few_patches_the_index_and_scores_as_a_rebuild(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "local"
    _ferry_folder(folder, 12)
    source = [SourceRef(kind="path", location=str(folder))]
    refresh(tmp_path, source)
    (folder / "s3.md").write_text(
        _ferry(3, "The ferry number 3 was retired after a storm damaged its hull."),
        encoding="utf-8",
    )
    (folder / "s7.md").unlink()
    report = refresh(tmp_path, source)
    assert (report.counts.updated, report.removed, report.articles) == (1, 1, 11)
    assert report.index_update == "patched"
    rebuilt = reindex(source, tmp_path / "rebuilt", store_path=tmp_path / "other.sqlite3")
    assert rebuilt.index_update == "rebuilt"
    for question in ("ferry passengers harbour bay", "storm damaged hull retired", "number 7"):
        assert _ranked(tmp_path / "idx", question) == _ranked(tmp_path / "rebuilt", question)
    hits = Searcher(snapshot.load(tmp_path / "idx")).search("ferry number 7 passengers", 20)
    assert hits and "Story 7" not in {h.article.title for h in hits}


def test_a_reindex_with_nothing_new_leaves_the_live_index_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "local"
    _ferry_folder(folder, 4)
    source = [SourceRef(kind="path", location=str(folder))]
    refresh(tmp_path, source)
    live = snapshot.live_folder(tmp_path / "idx")
    report = refresh(tmp_path, source)
    assert report.index_update == "unchanged"
    assert (report.counts.unchanged, report.analyzed, report.articles) == (4, 0, 4)
    assert snapshot.live_folder(tmp_path / "idx") == live  # no new snapshot was written


def test_a_jsonl_archive_is_read_again_only_where_its_lines_changed(tmp_path: Path) -> None:
    archive = tmp_path / "news.jsonl"
    lines = [
        json.dumps({"url": f"https://news.example/{i}", "title": f"Ferry {i}",
                    "text": f"The ferry number {i} carried {i * 40} passengers."})
        for i in range(30)
    ]  # fmt: skip
    archive.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = [SourceRef(kind="path", location=str(archive))]
    refresh(tmp_path, source)
    lines[5] = json.dumps(
        {"url": "https://news.example/5", "title": "Ferry 5", "text": "The ferry number 5 sank."}
    )
    del lines[9]
    lines.append("{not json")
    archive.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = refresh(tmp_path, source)
    assert (report.counts.unchanged, report.counts.updated, report.counts.failed) == (28, 1, 1)
    assert [p.origin for p in report.problems] == [f"{archive} line 30"]
    # A line that cannot be read may be what held an article that looks gone: it stays.
    assert report.removed == 0 and report.articles == 30
    [top, *_] = Searcher(snapshot.load(tmp_path / "idx")).search("ferry sank", 3)
    assert "sank" in top.text
    # Unchanged, the file is not read again and the problem is still told; the bad line was
    # bad last time too, so it held nothing, and the deletion goes through.
    report = refresh(tmp_path, source)
    assert (report.counts.unchanged, report.counts.failed) == (29, 1)
    assert [p.origin for p in report.problems] == [f"{archive} line 30"]
    assert (report.removed, report.articles) == (1, 29)
    del lines[0]
    archive.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = refresh(tmp_path, source)
    assert (report.counts.unchanged, report.counts.failed) == (28, 1)
    assert [p.origin for p in report.problems] == [f"{archive} line 29"]
    assert (report.removed, report.articles) == (1, 28)
    lines.pop()
    archive.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = refresh(tmp_path, source)
    assert (report.counts.unchanged, report.counts.failed, report.articles) == (28, 0, 28)
    report = refresh(tmp_path, source)
    assert (report.counts.unchanged, report.index_update) == (28, "unchanged")
