"""The process around the Discord bot: token, logging, the index service, signals, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

import aiohttp
import discord

from bot.discord_client import NewsBot, SyncMode
from bot.settings import ConfigError, Settings, all_sources, reindex_with
from index.ingest.health import source_health
from index.ingest.reindex import RefreshProgress, ReindexReport
from index.service import NewsService, Rebuild

log = logging.getLogger("newsbot")


def read_token(settings: Settings) -> str:
    name = settings.discord.token_env
    token = os.environ.get(name, "").strip()
    if not token:
        raise ConfigError(
            f"No Discord token: set the {name} environment variable to your bot's token "
            "(Developer Portal → your application → Bot → Reset Token); newsbot never reads it from a file."
        )
    return token


class RedactToken(logging.Filter):
    """Last line of defence: a log record that somehow contains the token has it masked."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "[token redacted]"), None
        return True


class JsonLines(logging.Formatter):
    """One JSON object a line: what log collectors (journald, Loki, CloudWatch) parse."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(
    token: str, level: int | str = logging.INFO, stream: Any = None, *, json_lines: bool = False
) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonLines()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    )
    handler.addFilter(RedactToken(token))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def rebuild_from(settings: Settings) -> Rebuild:
    """The reindex the bot runs: the configured sources into the configured index."""

    def rebuild(
        progress: RefreshProgress | None, only: frozenset[str] | None = None
    ) -> ReindexReport:
        return reindex_with(settings, progress, only)

    return rebuild


def build_service(
    settings: Settings, rebuild: Rebuild | None = None, *, keep_running: bool = False
) -> NewsService:
    service = NewsService(
        settings.index.path,
        rebuild or rebuild_from(settings),
        settings.answer,
        settings.search,
        health=lambda: source_health(all_sources(settings), settings.store_path, settings.fetch),
    )
    service.load(keep_running=keep_running)
    return service


def create_bot(settings: Settings, *, sync: SyncMode = "if-changed", **options: Any) -> NewsBot:
    return NewsBot(settings, build_service(settings, keep_running=True), sync=sync, **options)


async def serve(bot: NewsBot, token: str, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set or the connection ends for good, then close everything."""
    runner = asyncio.create_task(bot.start(token))
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        await bot.close()  # unloads cogs (cancelling their tasks) and closes the HTTP session
        if runner.done():
            runner.result()  # re-raise a login failure
        else:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner


@contextlib.contextmanager
def _discord_errors_as_words(settings: Settings) -> Iterator[None]:
    try:
        yield
    except discord.LoginFailure:
        raise ConfigError(
            f"Discord refused the token in {settings.discord.token_env}; reset it in the Developer Portal "
            "(your application → Bot → Reset Token) and set the variable again."
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise ConfigError(
            "Discord refused the message content intent that answer_channels needs; enable it in the "
            "Developer Portal (Bot → Privileged Gateway Intents) or remove answer_channels from the config."
        ) from None
    except (aiohttp.ClientConnectionError, discord.GatewayNotFound) as exc:
        raise ConfigError(
            f"Cannot reach Discord ({type(exc).__name__}); check the network and try again."
        ) from None


def run(settings: Settings, log_level: str | None = None) -> int:
    """``newsbot run``: serve until SIGTERM or Ctrl-C."""
    token = read_token(settings)
    setup_logging(
        token, log_level or settings.logging.level, json_lines=settings.logging.format == "json"
    )
    bot = create_bot(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(bot, token, stop)

    with _discord_errors_as_words(settings):
        asyncio.run(main())
    log.info("newsbot stopped")
    return 0


def sync_commands(settings: Settings) -> list[str]:
    """``newsbot sync-commands``: log in over HTTP only, sync the commands, and leave."""
    token = read_token(settings)
    setup_logging(token, logging.WARNING)
    bot = create_bot(settings, sync="always")

    async def main() -> list[str]:
        async with bot:
            await bot.login(token)  # runs setup_hook, which syncs
        return bot.synced

    with _discord_errors_as_words(settings):
        return asyncio.run(main())
