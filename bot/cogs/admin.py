"""Admin commands: /reindex refreshes the news of the server it is run in (one rebuild at a
time, questions answered meanwhile, a pause between two of one server); /report shows what members asked that the news did not cover."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_client import NewsBot, admin_only
from bot.discord_render import coverage_embed, message_text, progress_text, report_embed
from index.ingest.reindex import ProgressEvent
from index.ingest.store import ArticleStore
from index.servers import ServerError
from index.service import ReindexRunningError

PROGRESS_EVERY_SECONDS = 1.0
log = logging.getLogger(__name__)


class AdminCog(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="reindex", description="Refresh the news index from the configured sources"
    )
    @app_commands.guild_only()
    @admin_only()
    async def reindex(self, interaction: discord.Interaction) -> None:
        if self.bot.service.reindexing:
            raise ReindexRunningError(
                "A reindex is already running; questions are answered from the current index until it finishes."
            )
        only = await asyncio.to_thread(self._due_sources, interaction.guild_id or 0)
        limits = self.bot.settings.servers
        wait = await asyncio.to_thread(
            self.bot.servers.reindex_wait,
            interaction.guild_id or 0,
            timedelta(minutes=limits.reindex_cooldown_minutes),
        )
        if wait > 0:
            raise ServerError(
                f"This server refreshed its news less than {limits.reindex_cooldown_minutes:g} "
                f"minutes ago; try again in {wait / 60:.0f} minutes."
            )
        await interaction.response.defer(thinking=True)
        updates: asyncio.Queue[ProgressEvent | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def progress(event: ProgressEvent) -> None:  # called in the worker thread
            loop.call_soon_threadsafe(updates.put_nowait, event)

        reporter = asyncio.create_task(self._report_progress(interaction, updates))
        try:
            report = await asyncio.to_thread(self.bot.service.reindex, progress, only)
        finally:
            # After every progress event the worker queued: the reporter shows the last one.
            updates.put_nowait(None)
            await reporter
        await interaction.edit_original_response(
            content=None, embed=discord.Embed.from_dict(report_embed(report))
        )

    @app_commands.command(
        name="report", description="The questions most often refused and answers voted down"
    )
    @app_commands.describe(days="how far back to look, in days (default 7)")
    @app_commands.guild_only()
    @admin_only()
    async def report(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 365] = 7
    ) -> None:
        await asyncio.to_thread(self.bot.journal.prune)
        coverage = await asyncio.to_thread(self.bot.journal.report, days)
        await interaction.response.send_message(
            embed=discord.Embed.from_dict(coverage_embed(coverage)), ephemeral=True
        )

    def _due_sources(self, guild: int) -> frozenset[str]:
        """The sources this server sees, less feeds and pages fetched in the last few minutes:
        one server's /reindex refetches neither everyone's news nor its own too often."""
        view = self.bot.view(guild, everything=True)
        remote = {o.partition(":")[2]: o for o in view if not o.startswith("path:")}
        if not remote:
            return view
        recently = datetime.now(UTC) - timedelta(
            minutes=self.bot.settings.servers.min_refresh_minutes
        )
        with ArticleStore(self.bot.settings.store_path) as store:
            fresh = store.fetched_since(list(remote), recently)
        return view - {remote[url] for url in fresh}

    async def _report_progress(
        self, interaction: discord.Interaction, updates: asyncio.Queue[ProgressEvent | None]
    ) -> None:
        """Edit the reply with the latest progress, at most once a second, and, when the
        reindex is over (None), with the last progress not yet shown."""
        last, unshown = 0.0, None
        while True:
            event = await updates.get()
            while event is not None and not updates.empty():  # behind: only the newest counts
                newer = updates.get_nowait()
                if newer is None:
                    unshown, event = event, None
                else:
                    event = newer
            if event is None:
                if unshown is None:
                    return
                event, unshown = unshown, None
            elif time.monotonic() - last < PROGRESS_EVERY_SECONDS and event.done < event.total:
                unshown = event
                continue
            else:
                unshown = None
            last = time.monotonic()
            try:
                await interaction.edit_original_response(content=message_text(progress_text(event)))
            except discord.HTTPException:
                log.warning("Could not show reindex progress; the reindex goes on")


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(AdminCog(bot))
