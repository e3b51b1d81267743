"""/reindex: admins refresh the news; one rebuild at a time, questions answered meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import time

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_client import NewsBot, admin_only
from bot.discord_render import report_embed
from index.service import ReindexRunningError

PROGRESS_EVERY_SECONDS = 1.0


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
        await interaction.response.defer(thinking=True)
        updates: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def progress(done: int, total: int) -> None:  # called in the worker thread
            loop.call_soon_threadsafe(updates.put_nowait, (done, total))

        reporter = asyncio.create_task(self._report_progress(interaction, updates))
        try:
            report = await asyncio.to_thread(self.bot.service.reindex, progress)
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        await interaction.edit_original_response(
            content=None, embed=discord.Embed.from_dict(report_embed(report))
        )

    async def _report_progress(
        self, interaction: discord.Interaction, updates: asyncio.Queue[tuple[int, int]]
    ) -> None:
        last = 0.0
        while True:
            done, total = await updates.get()
            if time.monotonic() - last >= PROGRESS_EVERY_SECONDS or done == total:
                last = time.monotonic()
                await interaction.edit_original_response(
                    content=f"Reindexing… {done:,}/{total:,} articles"
                )


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(AdminCog(bot))
