"""Several bot processes on one index: two shards, each serving its own server, both answering
from the same snapshot and both following a refresh made by a third process (cron)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl

from bot.discord_client import NewsBot
from bot.launcher import build_service, serve
from tests.bot.fake_discord import GUILD_ID, FakeDiscord
from tests.bot.test_cli import run
from tests.bot.test_discord_e2e import TOKEN, make_settings, run_async

OTHER_GUILD = "900000000004194314"  # on the other shard of two: (id >> 22) % 2 differs
QUESTION = "How many ships did the harbour master count?"


async def ask(fake: FakeDiscord, guild: str) -> str:
    token = await fake.slash("ask", {"question": QUESTION}, guild=guild)
    await fake.wait_for(lambda: any(s.route.startswith("followup") for s in fake.replies_to(token)))
    [reply] = [s for s in fake.replies_to(token) if s.route.startswith("followup")]
    return str(reply.body["embeds"][0]["description"])


def test_two_shards_answer_from_one_index_and_both_follow_a_refresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    harbour = tmp_path / "harbour"
    harbour.mkdir()

    def harbour_news(count: int) -> None:
        (harbour / "harbour.md").write_text(
            "---\ntitle: Harbour report\nsource: Port News\npublished: 2024-05-01\n---\n"
            f"The harbour master counted {count} ships in the bay on Monday, a record.\n",
            encoding="utf-8",
        )

    harbour_news(41)
    base = make_settings(tmp_path, guild_ids=[int(GUILD_ID), int(OTHER_GUILD)])
    base.sources.append(base.sources[0].model_copy(update={"path": harbour}))
    shards = [
        base.model_copy(
            update={"discord": base.discord.model_copy(update={"shard_count": 2, "shard_id": i})}
        )
        for i in (0, 1)
    ]

    async def scenario() -> None:
        fake = FakeDiscord()
        fake.guild_ids = [GUILD_ID, OTHER_GUILD]
        await fake.start()
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
        )
        stop = asyncio.Event()
        bots: list[NewsBot] = []
        servers: list[asyncio.Task[Any]] = []
        for settings in shards:  # one after the other: the first builds the index
            ready = asyncio.Event()
            bot = NewsBot(
                settings, await asyncio.to_thread(build_service, settings), guild_ready_timeout=0.05
            )

            async def on_ready(event: asyncio.Event = ready) -> None:
                event.set()

            bot.add_listener(on_ready)
            servers.append(asyncio.create_task(serve(bot, TOKEN, stop)))
            await asyncio.wait_for(ready.wait(), 30)
            bots.append(bot)
        try:
            assert sorted(tuple(c[2]) for c in fake._connections if c[2]) == [(0, 2), (1, 2)]
            assert [len(b.guilds) for b in bots] == [1, 1]  # each shard has its own server
            assert "**41" in await ask(fake, GUILD_ID) and "**41" in await ask(fake, OTHER_GUILD)

            harbour_news(97)
            config = tmp_path / "cron.toml"
            config.write_text(
                f'[index]\npath = "{base.index.path}"\n\n'
                + "".join(f'[[sources]]\npath = "{s.path}"\n\n' for s in base.sources),
                encoding="utf-8",
            )
            refreshed = await asyncio.to_thread(run, "reindex", "--config", str(config))
            assert refreshed.returncode == 0, refreshed.stderr
            assert "**97" in await ask(fake, GUILD_ID) and "**97" in await ask(fake, OTHER_GUILD)
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*servers), 30)
            await fake.stop()
        assert fake.unknown == []

    run_async(scenario)
