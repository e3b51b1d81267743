"""One bot, two servers: each server's own sources and settings, through the real discord.py
client against the fake Discord on 127.0.0.1, with feeds from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.settings import ServersSettings, Settings, reindex_with
from index.ingest.store import ArticleStore
from index.models import SourceRef
from index.servers import ServerDirectory
from tests.bot.fake_discord import (
    ADMIN_ROLE_ID,
    BOT_ID,
    GUILD_ID,
    OTHER_CHANNEL_ID,
    FakeDiscord,
    Sent,
)
from tests.bot.test_cli import run
from tests.bot.test_discord_e2e import Harness, make_settings, run_async, running
from tests.bot.test_discord_followups import bot_reply
from tests.news_server import NewsServer, article_page, rss

GUILD_B = "900000000000000050"
HARBOUR = ["The harbour master counted 41 ships in the bay on Monday, a record for the port."]
QUESTION = "How many ships did the harbour master count?"


def two_servers(tmp_path: Path, **servers: Any) -> Settings:
    settings = make_settings(tmp_path, guild_ids=[int(GUILD_ID), int(GUILD_B)])
    limits = {"reindex_cooldown_minutes": 0, "min_refresh_minutes": 0, **servers}
    return settings.model_copy(update={"servers": ServersSettings(**limits)})


def fake_with_two() -> FakeDiscord:
    fake = FakeDiscord()
    fake.guild_ids = [GUILD_ID, GUILD_B]
    return fake


def coast_feed(server: NewsServer) -> str:
    page = server.add("/harbour", article_page("Harbour sets a record", HARBOUR))
    items = [{"title": "Harbour sets a record", "link": page}]
    return server.add("/coast.rss", rss("Coast News", items), content_type="application/rss+xml")


def answered(sent: Sent) -> bool:
    """Is this the bot's answer to a command, rather than its "thinking…" defer?"""
    if sent.route.startswith("callback"):
        return sent.body.get("type") == 4
    return sent.route.startswith(("followup", "edit"))


async def reply(
    h: Harness,
    name: str,
    options: dict[str, Any] | None = None,
    *,
    until: Callable[[Sent], bool] = answered,
    **who: Any,
) -> Sent:
    """The bot's answer to one command: its reply, or what replaced its "thinking…"."""
    token = await h.fake.slash(name, options, **who)
    await h.fake.wait_for(lambda: any(until(s) for s in h.fake.replies_to(token)))
    return next(s for s in h.fake.replies_to(token) if until(s))


def text_of(sent: Sent) -> str:
    """Everything a member reads in a reply: its content and its embeds' words."""
    body = sent.body
    parts = [body.get("content") or ""]
    for embed in body.get("embeds") or []:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']} {f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


def test_a_server_adds_a_feed_and_only_that_server_sees_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = two_servers(tmp_path)
    fake = fake_with_two()
    admin_b = {"roles": [ADMIN_ROLE_ID], "guild": GUILD_B}

    async def scenario() -> None:
        with NewsServer() as news:
            feed = coast_feed(news)
            async with running(settings, monkeypatch, fake=fake) as h:
                # A member who is not an admin cannot add one.
                denied = await reply(h, "sources add", {"feed": feed})
                assert denied.body["flags"] & 64 and "Manage Server" in denied.body["content"]
                added = await reply(h, "sources add", {"feed": feed}, roles=[ADMIN_ROLE_ID])
                assert "Added **Coast News**" in added.body["content"], added.body
                assert "1 articles indexed" in added.body["content"]

                answer_a = await reply(h, "ask", {"question": QUESTION})
                assert "41 ships" in text_of(answer_a)

                # Server B sees none of it: not in answers, briefs, autocomplete or /sources.
                answer_b = await reply(h, "ask", {"question": QUESTION}, guild=GUILD_B)
                assert "41 ships" not in text_of(answer_b)
                # Its footer counts what server B may see, not the whole index.
                assert answer_b.body["embeds"][0]["footer"]["text"].startswith("14 articles")
                assert answer_a.body["embeds"][0]["footer"]["text"].startswith("15 articles")
                latest_b = await reply(h, "latest", {"topic": "harbour"}, guild=GUILD_B)
                assert "harbour master" not in text_of(latest_b)
                assert "harbour master" in text_of(await reply(h, "latest", {"topic": "harbour"}))
                offered_a = await h.fake.autocomplete(
                    "ask", {"question": "x", "source": "coa"}, "source"
                )
                offered_b = await h.fake.autocomplete(
                    "ask", {"question": "x", "source": "coa"}, "source", guild=GUILD_B
                )
                assert [c["value"] for c in offered_a] == ["Coast News"] and offered_b == []
                listed_b = await reply(h, "sources list", **admin_b)
                assert "Coast News" not in text_of(listed_b) and "none yet" in text_of(listed_b)
                listed_a = await reply(h, "sources list")
                assert "Coast News: 1" in text_of(listed_a) and "(1 of 20)" in text_of(listed_a)
                named_b = await reply(
                    h, "ask", {"question": QUESTION, "source": "Coast News"}, guild=GUILD_B
                )
                assert "No articles from Coast News" in named_b.body["content"]

            # A restart loses nothing: the source, and server A's answers from it.
            async with running(settings, monkeypatch, fake=fake) as h:
                assert "41 ships" in text_of(await reply(h, "ask", {"question": QUESTION}))
                listed = await reply(h, "sources list")
                assert "(1 of 20)" in text_of(listed)

    run_async(scenario)


def test_bad_feeds_and_quotas_are_refused_with_their_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = two_servers(tmp_path, max_sources=1)
    admin = {"roles": [ADMIN_ROLE_ID]}

    async def scenario() -> None:
        with NewsServer() as news:
            feed = coast_feed(news)
            not_a_feed = news.add("/page", "<html><body>hello</body></html>")
            async with running(settings, monkeypatch, fake=fake_with_two()) as h:
                private = await reply(
                    h, "sources add", {"feed": "http://10.1.2.3/feed.rss"}, **admin
                )
                assert (
                    "Not added: http://10.1.2.3/feed.rss: refused: 10.1.2.3, a private address"
                    in private.body["content"]
                )
                metadata = await reply(
                    h, "sources add", {"url": "http://169.254.169.254/latest/meta-data/"}, **admin
                )
                assert "link-local" in metadata.body["content"]
                bad = await reply(h, "sources add", {"feed": not_a_feed}, **admin)
                assert bad.body["content"].startswith("Not added:")
                both = await reply(h, "sources add", {"feed": feed, "url": feed}, **admin)
                assert "either feed: or url:" in both.body["content"]
                assert (
                    "Added"
                    in (await reply(h, "sources add", {"feed": feed}, **admin)).body["content"]
                )
                over = await reply(h, "sources add", {"feed": feed + "?2"}, **admin)
                assert over.body["flags"] & 64 and "its limit" in over.body["content"]
                # No request went to a private address, and nothing refused was saved.
                directory = ServerDirectory(settings.store_path)
                assert [s.ref.location for s in directory.sources(int(GUILD_ID))] == [feed]
                directory.close()

    run_async(scenario)


def test_settings_are_per_server_and_per_channel_with_where_they_come_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = two_servers(tmp_path)
    admin = {"roles": [ADMIN_ROLE_ID]}

    async def scenario() -> None:
        async with running(settings, monkeypatch, fake=fake_with_two()) as h:
            shown = text_of(await reply(h, "settings show", **admin))
            assert "**cooldown**: 0 s · from config file" in shown
            saved = await reply(h, "settings set", {"setting": "cooldown", "value": "120"}, **admin)
            assert "**cooldown** is now 120 s in this server" in saved.body["content"]
            bad = await reply(h, "settings set", {"setting": "since", "value": "soonish"}, **admin)
            assert bad.body["flags"] & 64 and "soonish" in bad.body["content"]
            assert "**cooldown**: 120 s · from server" in text_of(
                await reply(h, "settings show", **admin)
            )
            # The setting holds in this server only: server B keeps the config's.
            assert "**cooldown**: 0 s · from config file" in text_of(
                await reply(h, "settings show", roles=[ADMIN_ROLE_ID], guild=GUILD_B)
            )
            first = await reply(h, "ask", {"question": "How many GPUs will Meta have?"})
            assert "600,000" in text_of(first)
            again = await reply(h, "ask", {"question": "How many GPUs will Meta have?"})
            assert again.body["flags"] & 64 and "try again in" in again.body["content"].lower()
            other = await reply(
                h, "ask", {"question": "How many GPUs will Meta have?"}, guild=GUILD_B
            )
            assert "600,000" in text_of(other)  # no cooldown in server B
            # A channel's sources: only the named ones answer there.
            unknown = await reply(
                h, "settings set", {"setting": "sources", "value": "nowhere"}, **admin
            )
            assert "No source here is named nowhere" in unknown.body["content"]
            extra = str(tmp_path / "extra")
            narrowed = await reply(
                h, "settings set", {"setting": "sources", "value": extra}, **admin
            )
            assert "**sources** is now" in narrowed.body["content"]
            await reply(h, "settings set", {"setting": "cooldown", "value": "0"}, **admin)
            # Only the extra folder answers in this server now: Meta's GPUs are not in it.
            narrow = await reply(h, "ask", {"question": "How many GPUs will Meta have?"})
            assert "600,000" not in text_of(narrow)
            raids = await reply(h, "ask", {"question": "What do the spam raiders post?"})
            assert "zebra" in text_of(raids)
            denied = await reply(h, "settings set", {"setting": "cooldown", "value": "1"})
            assert "Manage Server" in denied.body["content"]
            # One channel of its own: the other channel answers from every source again.
            await reply(h, "settings reset", {"setting": "sources"}, **admin)
            chat = {"setting": "sources", "value": extra, "channel": OTHER_CHANNEL_ID}
            in_chat = await reply(h, "settings set", chat, **admin)
            assert f"in <#{OTHER_CHANNEL_ID}>" in in_chat.body["content"]
            assert "600,000" in text_of(
                await reply(h, "ask", {"question": "How many GPUs will Meta have?"})
            )
            message = await h.fake.say(
                f"<@{BOT_ID}> How many GPUs will Meta have?",
                channel_id=OTHER_CHANNEL_ID,
                mention_bot=True,
            )
            answer = await bot_reply(h.fake, message)
            assert "600,000" not in str(answer.get("embeds")) + answer.get("content", "")
            per_channel = await reply(
                h,
                "settings set",
                {"setting": "cooldown", "value": "5", "channel": OTHER_CHANNEL_ID},
                **admin,
            )
            assert "whole server, not for one channel" in per_channel.body["content"]

    run_async(scenario)


def test_leaving_keeps_a_server_for_its_grace_period_then_its_articles_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = two_servers(tmp_path, grace_days=7)
    fake = fake_with_two()
    admin = {"roles": [ADMIN_ROLE_ID]}

    async def scenario() -> None:
        with NewsServer() as news:
            feed = coast_feed(news)
            async with running(settings, monkeypatch, fake=fake) as h:
                await reply(h, "sources add", {"feed": feed}, **admin)
                await reply(h, "settings set", {"setting": "cooldown", "value": "30"}, **admin)
                await fake.remove_guild(GUILD_ID)
                # Events are handled in order: once B is answered, A's removal is recorded.
                await reply(h, "help", guild=GUILD_B)
                directory = ServerDirectory(settings.store_path)
                [gone] = [s for s in directory.servers() if s.guild == int(GUILD_ID)]
                assert gone.left_at is not None
                await fake.add_guild(GUILD_ID)
                await reply(h, "help", guild=GUILD_B)
                [back] = [s for s in directory.servers() if s.guild == int(GUILD_ID)]
                assert back.left_at is None and len(back.sources) == 1
                assert "**cooldown**: 30 s · from server" in text_of(
                    await reply(h, "settings show", **admin)
                )
                await fake.remove_guild(GUILD_ID)
                await reply(h, "help", guild=GUILD_B)
                directory.close()
            listed = run("servers", "--config", str(write_config(tmp_path, settings)))
            assert f"({GUILD_ID}): left" in listed.stdout and "1 articles" in listed.stdout

        # Past the grace period the next start deletes its setup, and the next reindex its
        # articles (no other server follows the feed).
        late = settings.model_copy(update={"servers": ServersSettings(grace_days=0)})
        async with running(late, monkeypatch, fake=fake) as h:
            await reply(
                h,
                "reindex",
                {},
                until=lambda s: bool(s.body.get("embeds")),
                roles=[ADMIN_ROLE_ID],
                guild=GUILD_B,
            )
        with ArticleStore(settings.store_path) as store:
            assert f"feed:{feed}" not in store.count_by_origin()
        directory = ServerDirectory(settings.store_path)
        assert int(GUILD_ID) not in {s.guild for s in directory.servers()}
        directory.close()

    run_async(scenario)


def write_config(tmp_path: Path, settings: Settings) -> Path:
    """A config file with the same index and store, for the command line."""
    config = tmp_path / "newsbot.toml"
    config.write_text(f'[index]\npath = "{settings.index.path}"\n', encoding="utf-8")
    return config


def test_a_servers_reindex_refetches_nothing_fresh_and_waits_between_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = two_servers(tmp_path, reindex_cooldown_minutes=15, min_refresh_minutes=15)
    admin = {"roles": [ADMIN_ROLE_ID]}

    def summary(s: Sent) -> bool:
        return bool(s.body.get("embeds"))

    async def scenario() -> None:
        with NewsServer() as news:
            feed = coast_feed(news)
            async with running(settings, monkeypatch, fake=fake_with_two()) as h:
                await reply(h, "sources add", {"feed": feed}, **admin)
                assert len(news.hits("/coast.rss")) == 2  # the check, then the first fetch
                done = await reply(h, "reindex", {}, until=summary, **admin)
                assert "0 fetched" in text_of(done) and "**15** articles" in text_of(done)
                assert len(news.hits("/coast.rss")) == 2  # fetched minutes ago: not again
                again = await reply(h, "reindex", {}, **admin)
                assert (
                    again.body["flags"] & 64 and "try again in 15 minutes" in again.body["content"]
                )
                # Another server has its own pause.
                other = await reply(
                    h, "reindex", {}, until=summary, roles=[ADMIN_ROLE_ID], guild=GUILD_B
                )
                assert "Reindex complete" in text_of(other)
                offered = await h.fake.autocomplete(
                    "settings set", {"setting": "sources", "value": "coa"}, "value"
                )
                assert [c["value"] for c in offered] == ["Coast News"]

    run_async(scenario)


def test_a_servers_source_keeps_its_newest_articles_only(tmp_path: Path) -> None:
    with NewsServer() as news:
        items = []
        for day in (3, 4, 5):
            page = news.add(
                f"/day{day}",
                article_page(f"Tide report {day}", [f"On day {day} the tide rose {day} metres."]),
            )
            date = f"Mon, 0{day} Jun 2024 10:00:00 GMT"
            items.append({"title": f"Tide report {day}", "link": page, "date": date})
        feed = news.add("/tides.rss", rss("Tides", items), content_type="application/rss+xml")
        settings = make_settings(tmp_path).model_copy(
            update={"servers": ServersSettings(articles_per_source=2)}
        )
        directory = ServerDirectory(settings.store_path)
        directory.add_source(1, SourceRef(kind="feed", location=feed), limit=5)
        directory.close()
        reindex_with(settings)
    with ArticleStore(settings.store_path) as store:
        assert store.count_by_origin()[f"feed:{feed}"] == 2
        titles = {a.title for a in store.pending_analysis("") if a.via == f"feed:{feed}"}
    assert titles == {"Tide report 4", "Tide report 5"}
