"""The scheduled refresh: the same pipeline and the same one-at-a-time lock as /reindex."""

from __future__ import annotations

import asyncio
import logging

from discord.ext import commands, tasks

from bot.discord_client import NewsBot
from index.errors import NewsbotError
from index.ingest.reindex import ReindexLockedError
from index.service import ReindexRunningError

log = logging.getLogger(__name__)


class RefreshCog(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.minutes = bot.settings.refresh.every_minutes
        self.runs = 0
        self._loop = tasks.loop(minutes=self.minutes or 60)(self._refresh)
        self._started = False

    async def cog_load(self) -> None:
        if self.minutes > 0:
            self._loop.start()

    async def cog_unload(self) -> None:
        self._loop.cancel()

    async def _refresh(self) -> None:
        if not self._started:  # tasks.loop runs once at start; the index was just loaded then
            self._started = True
            return
        await self.bot.purge_departed()
        try:
            report = await asyncio.to_thread(self.bot.service.reindex)
        except (ReindexRunningError, ReindexLockedError):
            log.info("Scheduled refresh skipped: a reindex is already running")
            return
        except NewsbotError as exc:
            log.warning("Scheduled refresh failed: %s", exc)
            return
        except Exception:
            log.exception("Scheduled refresh crashed; the current index keeps serving")
            return
        finally:
            self.runs += 1
        c = report.counts
        log.info(
            "Scheduled refresh: %d articles (%d new, %d updated, %d failed) in %.1f s",
            report.articles, c.new, c.updated, c.failed, report.seconds,
        )  # fmt: skip


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(RefreshCog(bot))
