"""The real bot, real discord.py, real sockets: against the fake Discord on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import subprocess
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl

from bot.discord_client import NewsBot
from bot.launcher import build_service, rebuild_from, serve, setup_logging
from bot.settings import (
    DiscordSettings,
    IndexSettings,
    ServersSettings,
    Settings,
    SourceSettings,
    sample_news_dir,
)
from index.ingest.fetch import FetchConfig
from tests.bot.fake_discord import (
    ADMIN_ROLE_ID,
    BOT_ID,
    CHANNEL_ID,
    GUILD_ID,
    MANAGE_GUILD,
    MESSAGE_CONTENT_INTENT,
    OTHER_CHANNEL_ID,
    FakeDiscord,
    Sent,
)
from tests.helpers import child_env, discord_shows, newsbot_command
from tests.news_server import LOOPBACK_ALLOW

TOKEN = "fake.bot-token.e2e-1234567890"
QUESTION = "How many GPUs will Meta have?"

EXTRA_NEWS = {
    "pings.md": """---
title: Moderators warn of mass-ping spam raids
source: Chat Weekly
published: 2024-02-01
url: https://news.example/chat/ping-raids
---
Spam raiders post @everyone and <@&123456789012345678> in busy servers, and moderators say the zebra-stripe raid pings thousands of members at once.
""",
    "long.md": "---\ntitle: "
    + "Very long headline " * 30
    + "\nsource: Long Read\npublished: 2024-03-01\n---\n"
    + " ".join(["The aardvark archive keeps growing"] * 1500)
    + ".\n",
}


@dataclass
class Harness:
    fake: FakeDiscord
    bot: NewsBot
    settings: Settings

    async def slash_replies(
        self, name: str, options: dict[str, Any] | None = None, count: int = 1, **who: Any
    ) -> list[Sent]:
        token = await self.fake.slash(name, options, **who)
        await self.fake.wait_for(lambda: len(self.fake.replies_to(token)) >= count)
        return self.fake.replies_to(token)


def make_settings(tmp_path: Path, **discord_options: Any) -> Settings:
    extra = tmp_path / "extra"
    extra.mkdir(exist_ok=True)
    for name, text in EXTRA_NEWS.items():
        (extra / name).write_text(text, encoding="utf-8")
    options = {
        "guild_ids": [int(GUILD_ID)],
        "admin_role_ids": [int(ADMIN_ROLE_ID)],
        "cooldown_seconds": 0.0,
    }
    return Settings(
        index=IndexSettings(path=tmp_path / "idx"),
        sources=[SourceSettings(path=sample_news_dir()), SourceSettings(path=extra)],
        discord=DiscordSettings(**{**options, **discord_options}),
        fetch=FetchConfig(**LOOPBACK_ALLOW),
        # Tests refresh more often than a real server may.
        servers=ServersSettings(reindex_cooldown_minutes=0, min_refresh_minutes=0),
    )


@contextlib.asynccontextmanager
async def running(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    *,
    fake: FakeDiscord | None = None,
    rebuild: Any = None,
) -> AsyncIterator[Harness]:
    fake = fake or FakeDiscord()
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
    )
    bot = NewsBot(
        settings,
        await asyncio.to_thread(build_service, settings, rebuild),
        guild_ready_timeout=0.05,
    )
    event_errors: list[str] = []

    async def on_error(event: str, *args: Any, **kwargs: Any) -> None:
        event_errors.append(event)

    bot.on_error = on_error  # type: ignore[method-assign]
    is_ready = asyncio.Event()

    async def on_ready() -> None:
        is_ready.set()

    bot.add_listener(on_ready)
    stop = asyncio.Event()
    server = asyncio.create_task(serve(bot, TOKEN, stop))
    ready = asyncio.create_task(is_ready.wait())
    done, _ = await asyncio.wait({server, ready}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if server in done:
        server.result()
    assert ready in done, "the bot never became ready"
    try:
        yield Harness(fake, bot, settings)
    finally:
        stop.set()
        await asyncio.wait_for(server, 30)
        await fake.stop()
    assert fake.unknown == [], f"the bot called routes the fake does not know: {fake.unknown}"
    assert event_errors == [], f"event handlers raised: {event_errors}"


def gated_rebuild(settings: Settings) -> tuple[Any, threading.Event, threading.Event]:
    """The real rebuild behind a gate: `entered` is set when a reindex starts, which then waits
    for `release`. The index is built first, so only reindexes after start-up meet the gate."""
    real = rebuild_from(settings)
    real(None)
    entered, release = threading.Event(), threading.Event()

    def gated(progress: Any, only: Any = None) -> Any:
        entered.set()
        release.wait(30)
        return real(progress, only)

    return gated, entered, release


def run_async(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


def embeds(sent: Sent) -> list[dict[str, Any]]:
    return sent.body.get("embeds") or []


def test_login_then_sync_then_ready_with_the_declared_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with running(make_settings(tmp_path), monkeypatch) as h:
            log = h.fake.log
            assert log.index("GET users/@me") < log.index(f"SYNC {GUILD_ID}") < log.index("READY")
            assert "SYNC global" not in log  # guild ids configured: never both
            commands = {c["name"]: c for c in h.fake.synced[GUILD_ID]}
            assert set(commands) == {
                "ask",
                "latest",
                "reindex",
                "report",
                "sources",
                "settings",
                "help",
            }
            assert int(commands["settings"]["default_member_permissions"]) == MANAGE_GUILD
            question, since, source = commands["ask"]["options"]
            assert (question["name"], question["type"], question["required"]) == (
                "question",
                3,
                True,
            )
            assert question["max_length"] == 500
            assert [since["name"], since["required"], source["name"], source["required"]] == [
                "since",
                False,
                "source",
                False,
            ]
            assert since["autocomplete"] and source["autocomplete"]
            assert int(commands["reindex"]["default_member_permissions"]) == MANAGE_GUILD
            assert int(commands["report"]["default_member_permissions"]) == MANAGE_GUILD
            assert set(h.fake.auth_headers) == {f"Bot {TOKEN}"}
            assert not h.fake.identify["intents"] & MESSAGE_CONTENT_INTENT  # no answer channels

    run_async(scenario)


def test_commands_are_not_synced_again_when_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        settings = make_settings(tmp_path)
        async with running(settings, monkeypatch) as first:
            assert GUILD_ID in first.fake.synced
        async with running(settings, monkeypatch) as second:
            assert second.fake.synced == {}
            assert "READY" in second.fake.log

    run_async(scenario)


def test_ask_defers_then_answers_with_the_number_and_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with running(make_settings(tmp_path), monkeypatch) as h:
            token = await h.fake.slash("ask", {"question": QUESTION})
            await h.fake.wait_for(
                lambda: any(s.route.startswith("followup") for s in h.fake.replies_to(token))
            )
            assert h.fake.acks[token][0]["type"] == 5  # deferred first
            [followup] = [s for s in h.fake.replies_to(token) if s.route.startswith("followup")]
            [embed] = embeds(followup)
            assert "**almost 600,000 GPUs**" in embed["description"]
            sources = embed["fields"][0]["value"]
            first = sources.splitlines()[0]
            assert first.startswith("1. [Meta aims for a stockpile")
            assert (
                "](https://news.example/tech/2024/01/19/meta-gpu-stockpile) · The Circuit · "
                in first
            )
            assert "articles indexed" in embed["footer"]["text"]
            assert "last reindex" in embed["footer"]["text"]

    run_async(scenario)


def test_mentions_get_a_reply_and_other_messages_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with running(make_settings(tmp_path), monkeypatch) as h:
            await h.fake.say(
                "Anyone know how many GPUs Meta will have?", channel_id=OTHER_CHANNEL_ID
            )
            await h.fake.say(f"<@{BOT_ID}> {QUESTION}", mention_bot=True)
            await h.fake.wait_for(lambda: bool(h.fake.sent))
            [reply] = h.fake.sent  # the unmentioned message, dispatched first, got nothing
            assert reply.route == f"channel {CHANNEL_ID}"
            assert str(reply.body["message_reference"]["channel_id"]) == CHANNEL_ID
            assert "600,000" in embeds(reply)[0]["description"]

    run_async(scenario)


def test_answer_channels_need_the_intent_and_answer_every_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        settings = make_settings(tmp_path, answer_channels=[int(OTHER_CHANNEL_ID)])
        async with running(settings, monkeypatch) as h:
            assert h.fake.identify["intents"] & MESSAGE_CONTENT_INTENT
            await h.fake.say(QUESTION, channel_id=OTHER_CHANNEL_ID)
            await h.fake.wait_for(lambda: bool(h.fake.sent))
            assert "600,000" in embeds(h.fake.sent[0])[0]["description"]

    run_async(scenario)


def test_reindex_by_manage_server_reports_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with running(make_settings(tmp_path), monkeypatch) as h:
            token = await h.fake.slash("reindex", permissions=MANAGE_GUILD)
            await h.fake.wait_for(lambda: any(embeds(s) for s in h.fake.replies_to(token)))
            [summary] = [e for s in h.fake.replies_to(token) for e in embeds(s)]
            assert summary["title"] == "Reindex complete"
            assert "**14** articles" in summary["description"]
            assert "0 added, 0 removed" in summary["description"]
            by_role = await h.fake.slash("reindex", roles=[ADMIN_ROLE_ID])
            await h.fake.wait_for(lambda: any(embeds(s) for s in h.fake.replies_to(by_role)))
            progress = [
                s.body.get("content")
                for s in h.fake.replies_to(by_role)
                if s.route.startswith("edit")
            ]
            # At most one edit a second, the newest step only (Discord limits edits), and the
            # last step before the summary is always shown.
            assert all(line.startswith("Reindexing… ") for line in progress[:-1]), progress
            assert progress[-2] == "Reindexing… indexing 1/1" and progress[-1] is None

    run_async(scenario)


def test_reindex_is_refused_without_manage_server_even_if_discord_shows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with running(make_settings(tmp_path), monkeypatch) as h:
            # The fake delivers the command as Discord would after a server admin opened its
            # default permissions to everyone: the bot's own check must refuse.
            [refusal] = await h.slash_replies("reindex", permissions=0)
            assert refusal.route.startswith("callback")
            assert refusal.body["flags"] & 64  # ephemeral
            assert "only members with Manage Server" in refusal.body["content"]

    run_async(scenario)


def test_one_reindex_at_a_time_and_questions_answered_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    gated, entered, release = gated_rebuild(settings)

    async def scenario() -> None:
        async with running(settings, monkeypatch, rebuild=gated) as h:
            first = await h.fake.slash("reindex", permissions=MANAGE_GUILD)
            assert await asyncio.to_thread(entered.wait, 30)
            [busy] = await h.slash_replies("reindex", permissions=MANAGE_GUILD)
            assert "already running" in busy.body["content"]
            answered = await h.slash_replies("ask", {"question": QUESTION}, count=2)
            assert "600,000" in embeds(answered[-1])[0]["description"]
            release.set()
            await h.fake.wait_for(lambda: any(embeds(s) for s in h.fake.replies_to(first)))

    run_async(scenario)


def test_article_mentions_ping_no_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        async with running(make_settings(tmp_path), monkeypatch) as h:
            replies = await h.slash_replies(
                "ask", {"question": "What do zebra-stripe raiders post?"}, count=2
            )
            [embed] = embeds(replies[-1])
            assert "everyone" in embed["description"]
            assert "@everyone" not in embed["description"]  # escaped, as well as not allowed
            carrying_text = [
                s for s in h.fake.sent if s.body.get("content") or s.body.get("embeds")
            ]
            assert carrying_text
            for sent in carrying_text:
                assert sent.body.get("allowed_mentions", {}).get("parse") == [], sent
                assert not sent.body["allowed_mentions"].get("roles")
                assert not sent.body["allowed_mentions"].get("users")
                assert not sent.body["allowed_mentions"].get("replied_user")

    run_async(scenario)


def test_a_very_long_article_stays_within_discord_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with running(make_settings(tmp_path), monkeypatch) as h:
            await h.slash_replies("ask", {"question": "What is the aardvark archive?"}, count=2)
            await h.fake.say(f"<@{BOT_ID}> aardvark archive " + "growing " * 300, mention_bot=True)
            await h.fake.wait_for(lambda: any(s.route.startswith("channel") for s in h.fake.sent))
            for sent in h.fake.sent:
                assert len(sent.body.get("content") or "") <= 2000
                for embed in embeds(sent):
                    assert len(embed.get("title", "")) <= 256
                    assert len(embed.get("description", "")) <= 4096
                    total = len(embed.get("title", "")) + len(embed.get("description", ""))
                    for f in embed.get("fields", []):
                        assert len(f["name"]) <= 256 and len(f["value"]) <= 1024
                        total += len(f["name"]) + len(f["value"])
                    total += len(embed.get("footer", {}).get("text", ""))
                    assert total <= 6000

    run_async(scenario)


@pytest.mark.parametrize("question", ["   ", "\t \n"])
def test_blank_questions_get_a_clear_private_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, question: str
) -> None:
    async def scenario() -> None:
        async with running(make_settings(tmp_path), monkeypatch) as h:
            [reply] = await h.slash_replies("ask", {"question": question})
            assert reply.route.startswith("callback") and reply.body["flags"] & 64
            assert "The question is empty" in reply.body["content"]

    run_async(scenario)


def test_cooldown_refusal_says_when_to_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with running(make_settings(tmp_path, cooldown_seconds=120), monkeypatch) as h:
            await h.slash_replies("ask", {"question": QUESTION}, count=2)
            [refusal] = await h.slash_replies("ask", {"question": QUESTION})
            assert "try again in 1" in refusal.body["content"]  # 119 or 120 s
            assert refusal.body["flags"] & 64

    run_async(scenario)


def test_sources_and_help(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        async with running(make_settings(tmp_path), monkeypatch) as h:
            [sources] = await h.slash_replies("sources list")
            [embed] = embeds(sources)
            assert "**14** articles" in embed["description"]
            assert "Newest article: 2024-09-03" in embed["description"]
            assert "The Circuit: 3" in embed["fields"][0]["value"]
            [helped] = await h.slash_replies("help")
            assert helped.body["flags"] & 64
            text = embeds(helped)[0]["description"]
            # Every command Discord was given is explained, with each of its options.
            for command in h.fake.synced[GUILD_ID]:
                options = command.get("options", [])
                subcommands = [o for o in options if o["type"] == 1]
                for name, given in [(f"{command['name']} {o['name']}", o) for o in subcommands] or [
                    (command["name"], command)
                ]:
                    assert f"**/{name}**" in text, name
                    for option in given.get("options", []):
                        assert option["name"] in text, (name, option["name"])
            assert "reply to one of my answers" in text and "Ask a follow-up" in text

    run_async(scenario)


def test_token_never_reaches_the_logs_and_shutdown_is_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = io.StringIO()
    handler = setup_logging(TOKEN, logging.DEBUG, stream)

    async def scenario() -> None:
        async with running(make_settings(tmp_path), monkeypatch) as h:
            await h.slash_replies("ask", {"question": QUESTION}, count=2)
            bot = h.bot
        assert bot.is_closed()
        assert bot.http._HTTPClient__session.closed  # type: ignore[attr-defined]

    try:
        run_async(scenario)
    finally:
        logging.getLogger().removeHandler(handler)
    output = stream.getvalue()
    assert "READY" in output or "ready" in output.lower()  # the run was logged at all
    assert TOKEN not in output


def test_missing_token_is_one_clear_sentence(tmp_path: Path) -> None:
    env = child_env()
    env.pop("DISCORD_TOKEN", None)
    result = subprocess.run(
        [newsbot_command(), "run"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "set the DISCORD_TOKEN environment variable" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_scheduled_refresh_shares_the_reindex_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    settings.refresh.every_minutes = 0.002  # about every 0.1 s
    gated, entered, release = gated_rebuild(settings)

    async def scenario() -> None:
        async with running(settings, monkeypatch, rebuild=gated) as h:
            assert await asyncio.to_thread(entered.wait, 30)  # the schedule started a refresh
            [busy] = await h.slash_replies("reindex", permissions=MANAGE_GUILD)
            assert "already running" in busy.body["content"]
            release.set()

    run_async(scenario)


def test_sources_shows_feed_health(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.news_server import NewsServer, harbour_feed

    with NewsServer() as server:
        _, good = harbour_feed(server, feed_path="/good.rss")
        bad = server.url("/gone.rss")
        settings = make_settings(tmp_path)
        settings.sources += [
            SourceSettings(feed=good),
            SourceSettings(feed=bad, name="Gone Gazette"),
        ]

        async def scenario() -> None:
            async with running(settings, monkeypatch) as h:
                [reply] = await h.slash_replies("sources list")
                feeds = discord_shows(embeds(reply)[0]["fields"][1]["value"])
                assert f"✅ {good}: 1 articles, last success 20" in feeds
                assert (
                    "⚠️ Gone Gazette: 0 articles, last success never, 1 failures in a row (HTTP 404 Not Found)"
                    in feeds
                )

        run_async(scenario)


def test_fifty_concurrent_asks_are_all_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with running(make_settings(tmp_path), monkeypatch) as h:
            tokens = await asyncio.gather(
                *(
                    h.fake.slash(
                        "ask",
                        {"question": QUESTION},
                        author={
                            "id": str(6000 + i),
                            "username": f"u{i}",
                            "discriminator": "0",
                            "global_name": None,
                            "avatar": None,
                        },
                    )
                    for i in range(50)
                )
            )

            def all_answered() -> bool:
                return all(
                    any(s.route.startswith("followup") for s in h.fake.replies_to(t))
                    for t in tokens
                )

            await h.fake.wait_for(all_answered, timeout=60)
            assert all(h.fake.acks[t][0]["type"] == 5 for t in tokens)  # each deferred in time
            for token in tokens:
                [answer] = [s for s in h.fake.replies_to(token) if s.route.startswith("followup")]
                assert "600,000" in embeds(answer)[0]["description"]

    run_async(scenario)


def test_a_dripping_page_cannot_wedge_reindex(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In trials a page sending one byte at a time kept every later /reindex "already running"."""
    from tests.news_server import NewsServer, harbour_feed, rss

    with NewsServer() as server:
        _, good = harbour_feed(server)
        drip = server.add("/drip", drip=True)
        dripping = server.add(
            "/drip.rss", rss("Drip", [{"title": "Drip", "link": drip}]),
            content_type="application/rss+xml",
        )  # fmt: skip
        settings = make_settings(tmp_path)
        settings.fetch = FetchConfig(**LOOPBACK_ALLOW, request_timeout=1.0)
        settings.sources += [SourceSettings(feed=good), SourceSettings(feed=dripping)]

        async def scenario() -> None:
            async with running(settings, monkeypatch) as h:
                for attempt in range(2):
                    token = await h.fake.slash("reindex", permissions=MANAGE_GUILD)
                    await h.fake.wait_for(
                        lambda t=token: any(embeds(s) for s in h.fake.replies_to(t)), timeout=60
                    )
                    [summary] = [e for s in h.fake.replies_to(token) for e in embeds(s)]
                    assert summary["title"] == "Reindex complete", attempt
                    problems = discord_shows(summary["fields"][0]["value"])
                    assert f"{drip}: no complete answer within 1 s" in problems

        run_async(scenario)


def test_ask_gives_briefs_reasons_and_casual_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Open questions, filters that match nothing, greetings and lower case, through Discord."""

    async def ask(h: Harness, options: dict[str, str]) -> dict[str, Any]:
        token = await h.fake.slash("ask", options)
        await h.fake.wait_for(
            lambda: any(s.route.startswith("followup") for s in h.fake.replies_to(token))
        )
        [followup] = [s for s in h.fake.replies_to(token) if s.route.startswith("followup")]
        return embeds(followup)[0]

    async def scenario() -> None:
        async with running(make_settings(tmp_path), monkeypatch) as h:
            brief = await ask(h, {"question": "what's new with Meta?"})
            assert brief["title"] == "Latest on Meta" and 3 <= len(brief["fields"]) <= 5
            assert all("<https://news.example/" in f["value"] for f in brief["fields"])
            # An outlet the index does not hold is refused privately, before the public defer,
            # with the nearest spellings.
            [private] = await h.slash_replies(
                "ask", {"question": QUESTION, "source": "news.exampel"}
            )
            assert private.route.startswith("callback") and private.body["flags"] & 64
            assert private.body["content"].startswith("No articles from news.exampel in the index")
            assert "news.example" in private.body["content"].split("nearest outlets are")[1]
            filtered = await ask(h, {"question": QUESTION, "since": "2024-12-31"})
            assert discord_shows(filtered["description"]).startswith(
                "Nothing newer than 2024-12-31"
            )
            hello = await ask(h, {"question": "hi"})
            assert "Ask me about the news with /ask" in hello["description"]
            casual = await ask(h, {"question": "how many gpus will meta have"})
            assert "**almost 600,000 GPUs**" in casual["description"]

    run_async(scenario)
