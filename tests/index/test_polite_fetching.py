"""Fetching as sites expect, and never for ever: deadlines, robots.txt, Retry-After, backoff.

Every site here is a real HTTP server on 127.0.0.1, allowed as an operator would allow one.
"""

from __future__ import annotations

import time
from itertools import pairwise
from pathlib import Path

from index.ingest.fetch import FetchConfig
from index.ingest.health import source_health
from index.ingest.reindex import ReindexReport, reindex
from index.ingest.store import ArticleStore
from index.models import SourceRef
from tests.bot.test_cli import run
from tests.news_server import LOOPBACK_ALLOW, NewsServer, article_page, loopback_fetch_toml, rss

HARBOUR = ["The harbour reopened to ships on Friday after a week of storms, the port said."]
BRIDGE = ["The new bridge over the estuary opened to traffic on Monday after four years of works."]


def refresh(tmp_path: Path, feeds: list[str], **fetch: object) -> ReindexReport:
    return reindex(
        [SourceRef(kind="feed", location=f) for f in feeds],
        tmp_path / "idx",
        store_path=tmp_path / "store.sqlite3",
        fetch=FetchConfig(**{**LOOPBACK_ALLOW, **fetch}),
    )


def feed_of(server: NewsServer, path: str, links: dict[str, str]) -> str:
    items = [{"title": title, "link": link} for title, link in links.items()]
    return server.add(path, rss("Coast News", items), content_type="application/rss+xml")


def test_a_page_that_drips_is_cut_at_the_request_deadline_and_the_refresh_goes_on(
    tmp_path: Path,
) -> None:
    with NewsServer() as server:
        good = server.add("/good", article_page("Harbour", HARBOUR))
        drip = server.add("/drip", drip=True)
        feed = feed_of(server, "/feed.rss", {"Harbour": good, "Drip": drip})
        report = refresh(tmp_path, [feed], request_timeout=1.0, read_timeout=5.0)
    assert report.articles == 1
    reasons = {p.origin: p.reason for p in report.problems}
    assert reasons[drip] == "no complete answer within 1 s ([fetch] request_timeout)"


def test_a_refresh_past_its_deadline_reports_the_late_source_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    with NewsServer() as server:
        good = server.add("/good", article_page("Harbour", HARBOUR))
        quick = feed_of(server, "/quick.rss", {"Harbour": good})
        drip = server.add("/drip", drip=True)
        slow = feed_of(server, "/slow.rss", {"Drip": drip})
        report = refresh(tmp_path, [quick, slow], request_timeout=60, refresh_timeout=1.0)
    assert report.articles == 1
    reasons = {p.origin: p.reason for p in report.problems}
    assert reasons[slow].startswith(
        "not finished within the refresh's 1 s ([fetch] refresh_timeout)"
    )


def test_robots_txt_is_honoured_for_pages_but_not_for_the_feed(tmp_path: Path) -> None:
    with NewsServer() as server:
        server.add(
            "/robots.txt",
            "User-agent: *\nDisallow: /\n\nUser-agent: newsbot\nDisallow: /private/\nDisallow: /feeds/\n",
            content_type="text/plain",
        )
        allowed = server.add("/news/harbour", article_page("Harbour", HARBOUR))
        allowed2 = server.add("/news/bridge", article_page("Bridge", BRIDGE))
        private = server.add("/private/memo", article_page("Memo", BRIDGE))
        feed = feed_of(
            server, "/feeds/all.rss", {"Harbour": allowed, "Bridge": allowed2, "Memo": private}
        )
        report = refresh(tmp_path, [feed])
        assert report.articles == 2
        assert server.hits("/feeds/all.rss")  # subscribed to, so fetched whatever robots.txt says
        assert server.hits("/private/memo") == []
        assert len(server.hits("/robots.txt")) == 1  # cached for the site
    reasons = {p.origin: p.reason for p in report.problems}
    assert "robots.txt of 127.0.0.1 does not allow newsbot to fetch this page" in reasons[private]


def test_an_unreachable_robots_txt_stops_pages_and_a_missing_one_allows_them(
    tmp_path: Path,
) -> None:
    with NewsServer() as broken, NewsServer() as plain:
        broken.add("/robots.txt", "oops", status=500, content_type="text/plain")
        stopped = broken.add("/news/harbour", article_page("Harbour", HARBOUR))
        fine = plain.add("/news/bridge", article_page("Bridge", BRIDGE))
        feed = feed_of(plain, "/feed.rss", {"Harbour": stopped, "Bridge": fine})
        report = refresh(tmp_path, [feed])
        assert broken.hits("/news/harbour") == []
        assert plain.hits("/news/bridge")
    assert report.articles == 1


def test_retry_after_on_429_is_waited_for_then_the_page_is_fetched(tmp_path: Path) -> None:
    with NewsServer() as server:
        page = server.add(
            "/busy", article_page("Harbour", HARBOUR), first=[(429, {"Retry-After": "1"})]
        )
        feed = feed_of(server, "/feed.rss", {"Harbour": page})
        report = refresh(tmp_path, [feed])
        first, second = server.hits("/busy")
    assert report.articles == 1 and report.problems == []
    assert second.at - first.at >= 0.9  # it waited as asked before coming back


def test_a_retry_after_longer_than_allowed_is_reported_not_waited_for(tmp_path: Path) -> None:
    with NewsServer() as server:
        when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 7200))
        page = server.add(
            "/busy",
            article_page("Harbour", HARBOUR),
            first=[(503, {"Retry-After": when}), (503, {"Retry-After": when})],
        )
        good = server.add("/good", article_page("Bridge", BRIDGE))
        feed = feed_of(server, "/feed.rss", {"Harbour": page, "Bridge": good})
        report = refresh(tmp_path, [feed], max_retry_after=30)
        assert len(server.hits("/busy")) == 1
    [problem] = report.problems
    assert problem.reason.startswith("HTTP 503")
    assert "the server asked to retry after 7" in problem.reason


def test_a_failing_feed_backs_off_and_sources_shows_it_with_failing_items(
    tmp_path: Path,
) -> None:
    with NewsServer() as server:
        good = server.add("/good", article_page("Harbour", HARBOUR))
        gone = server.url("/gone-page")
        feed = feed_of(server, "/feed.rss", {"Harbour": good, "Gone": gone})
        dead = server.add("/dead.rss", "down", status=500, content_type="text/plain")
        config = tmp_path / "newsbot.toml"
        config.write_text(
            f'[index]\npath = "idx"\n\n[[sources]]\nfeed = "{feed}"\n\n'
            f'[[sources]]\nfeed = "{dead}"\nname = "Dead Daily"\n\n'
            + loopback_fetch_toml(backoff_minutes=30),
            encoding="utf-8",
        )
        first = run("reindex", "--config", str(config))
        second = run("reindex", "--config", str(config))
        assert len(server.hits("/dead.rss")) == 1  # the second refresh did not knock again
        assert len(server.hits("/gone-page")) == 2  # items are retried while the feed lists them
        sources = run("sources", "--config", str(config))
    assert first.returncode == 2 and second.returncode == 2, second.stderr  # some sources failed
    assert f"{dead}: HTTP 500" in first.stdout
    assert f"{dead}: skipped after 1 failures in a row (last: HTTP 500" in second.stdout
    assert "backing off: next try after" in sources.stdout
    assert "1 items failing:" in sources.stdout
    assert f"{gone}: HTTP 404 Not Found (2 times since" in sources.stdout


def test_item_failures_clear_when_the_item_succeeds_or_leaves_the_feed(tmp_path: Path) -> None:
    with NewsServer() as server:
        good = server.add("/good", article_page("Bridge", BRIDGE))
        later = server.url("/later")
        dropped = server.url("/dropped")
        feed = feed_of(server, "/feed.rss", {"Bridge": good, "Later": later, "Dropped": dropped})
        refresh(tmp_path, [feed])
        [health] = source_health(
            [SourceRef(kind="feed", location=feed)], tmp_path / "store.sqlite3"
        )
        assert {f.url for f in health.failing_items} == {later, dropped}
        server.add("/later", article_page("Harbour", HARBOUR))
        feed_of(server, "/feed.rss", {"Bridge": good, "Later": later})
        refresh(tmp_path, [feed])
    [health] = source_health([SourceRef(kind="feed", location=feed)], tmp_path / "store.sqlite3")
    assert health.failing_items == [] and health.articles == 2
    with ArticleStore(tmp_path / "store.sqlite3") as store:
        assert store.item_failures(f"feed:{feed}") == []


def test_requests_to_one_host_are_spaced_by_the_configured_delay(tmp_path: Path) -> None:
    with NewsServer() as server:
        pages = {
            f"Page {n}": server.add(f"/page-{n}", article_page(f"Page {n}", [line]))
            for n, line in enumerate(HARBOUR + BRIDGE)
        }
        feed = feed_of(server, "/feed.rss", pages)
        report = refresh(tmp_path, [feed], host_delay=0.5)
        starts = sorted(r.at for r in server.requests)
    assert report.articles == 2
    # The feed, robots.txt and two pages: four requests to one host, each 0.5 s after the last.
    assert len(starts) == 4
    gaps = [later - earlier for earlier, later in pairwise(starts)]
    assert min(gaps) >= 0.45, gaps
