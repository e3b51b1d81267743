"""Servers' own settings and sources in the store, and the per-server view of one index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.settings import IndexSettings, Settings, SourceSettings, reindex_with
from index.ingest.fetch import FetchConfig
from index.models import Article, SourceRef
from index.search.build import build_snapshot
from index.search.searcher import Searcher, SearchFilters
from index.servers import ServerDirectory, ServerError, view_of
from tests.news_server import LOOPBACK_ALLOW, NewsServer, article_page, rss

A_FEED = SourceRef(kind="feed", location="https://a.example/rss")
B_FEED = SourceRef(kind="feed", location="https://b.example/rss")


def article(n: int, via: str, text: str, source: str) -> Article:
    return Article(id=f"a{n}", title=f"Story {n}", text=text, source=source, via=via)


def test_a_view_sees_only_its_sources_and_the_unattributed() -> None:
    snap = build_snapshot(
        [
            article(1, A_FEED.origin, "The lighthouse keeper counted ships at dawn.", "A Daily"),
            article(2, B_FEED.origin, "The lighthouse was painted red by volunteers.", "B Times"),
            article(3, "", "A lighthouse museum opened in the old harbour.", "Town Post"),
        ]
    )
    searcher = Searcher(snap)
    everyone = {h.article.id for h in searcher.search("lighthouse", 10)}
    only_a = {
        h.article.id
        for h in searcher.search(
            "lighthouse", 10, SearchFilters(origins=frozenset({A_FEED.origin}))
        )
    }
    assert everyone == {"a1", "a2", "a3"} and only_a == {"a1", "a3"}
    assert searcher.outlets("", origins=frozenset({A_FEED.origin})) == ["A Daily", "Town Post"]
    assert searcher.nearest_outlets("B Tmes", origins=frozenset({A_FEED.origin})) == []
    assert searcher.nearest_outlets("B Tmes") == ["B Times"]


def test_sources_are_per_server_within_a_quota_and_followed_once(tmp_path: Path) -> None:
    directory = ServerDirectory(tmp_path / "store.sqlite3")
    directory.add_source(1, A_FEED, limit=2)
    directory.add_source(2, A_FEED, limit=2)
    directory.add_source(2, B_FEED, limit=2)
    with pytest.raises(ServerError, match="already follows"):
        directory.add_source(1, A_FEED, limit=2)
    with pytest.raises(ServerError, match="its limit"):
        directory.add_source(2, SourceRef(kind="feed", location="https://c.example/rss"), limit=2)
    assert directory.followed() == [A_FEED, B_FEED]  # one each, however many servers follow
    own_1 = directory.sources(1)
    assert view_of([], own_1) == {A_FEED.origin}
    assert view_of([], directory.sources(2), ["b.example"]) == {B_FEED.origin}
    directory.remove_source(2, "a.example")
    assert [s.ref for s in directory.sources(2)] == [B_FEED]
    with pytest.raises(ServerError, match="no source named"):
        directory.remove_source(1, "nowhere")


def test_settings_say_where_they_come_from(tmp_path: Path) -> None:
    directory = ServerDirectory(tmp_path / "store.sqlite3")
    defaults: dict[str, object] = {"cooldown": 10.0, "answer_channels": [], "admin_roles": []}
    directory.set(1, None, "cooldown", "30")
    directory.set(1, None, "since", "7d")
    directory.set(1, 55, "since", "24h")
    here = directory.effective(1, 55, defaults)
    assert (here["cooldown"].value, here["cooldown"].where) == (30.0, "server")
    assert (here["since"].value, here["since"].where) == ("24h", "this channel")
    elsewhere = directory.effective(1, 66, defaults)
    assert (elsewhere["since"].value, elsewhere["since"].where) == ("7d", "server")
    other = directory.effective(2, None, defaults)
    assert (other["cooldown"].value, other["cooldown"].where) == (10.0, "config file")
    with pytest.raises(ServerError, match="whole server"):
        directory.set(1, 55, "cooldown", "5")
    with pytest.raises(ServerError, match="between 0 and 3600"):
        directory.set(1, None, "cooldown", "99999")
    with pytest.raises(ServerError, match="not a channel"):
        directory.set(1, None, "answer_channels", "general")
    directory.reset(1, 55, "since")
    assert directory.effective(1, 55, defaults)["since"].where == "server"


def test_a_server_gone_past_its_grace_period_is_forgotten(tmp_path: Path) -> None:
    directory = ServerDirectory(tmp_path / "store.sqlite3", grace_days=7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    directory.joined(1, "One", now=start)
    directory.add_source(1, A_FEED, limit=5)
    directory.set(1, None, "cooldown", "30")
    directory.left(1, now=start + timedelta(days=1))
    assert directory.purge_departed(now=start + timedelta(days=7)) == []
    directory.joined(1, "One", now=start + timedelta(days=7))  # back within the grace period
    assert directory.sources(1) and directory.purge_departed(now=start + timedelta(days=30)) == []
    directory.left(1, now=start + timedelta(days=30))
    assert directory.purge_departed(now=start + timedelta(days=38)) == [1]
    assert directory.sources(1) == [] and directory.followed() == []
    assert directory.effective(1, None, {})["cooldown"].where == "config file"


def test_a_feed_two_servers_follow_is_fetched_and_stored_once(tmp_path: Path) -> None:
    lines = ["The ferry to the island runs twice a day from the old harbour, the port said."]
    with NewsServer() as server:
        page = server.add("/ferry", article_page("Ferry timetable", lines))
        feed = server.add(
            "/island.rss",
            rss("Island News", [{"title": "Ferry timetable", "link": page}]),
            content_type="application/rss+xml",
        )
        settings = Settings(
            index=IndexSettings(path=tmp_path / "idx"),
            sources=[SourceSettings(path=tmp_path / "local")],
            fetch=FetchConfig(**LOOPBACK_ALLOW),
        )
        (tmp_path / "local").mkdir()
        (tmp_path / "local" / "a.md").write_text(
            "# Local\n\nThe mill reopened.\n", encoding="utf-8"
        )
        directory = ServerDirectory(settings.store_path)
        for guild in (1, 2):
            directory.add_source(guild, SourceRef(kind="feed", location=feed), limit=5)
        report = reindex_with(settings)
        assert len(server.hits("/island.rss")) == 1 and len(server.hits("/ferry")) == 1
        assert report.articles == 2
        # One server stops following: the other still does, so the article stays.
        directory.remove_source(1, feed)
        assert reindex_with(settings).articles == 2
        directory.remove_source(2, feed)
        assert reindex_with(settings).articles == 1
        directory.close()
