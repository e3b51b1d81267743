"""/sources and /help."""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_client import NewsBot
from bot.discord_render import help_embed, status_embed


class InfoCog(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    @app_commands.command(name="sources", description="What news is indexed, and how fresh it is")
    async def sources(self, interaction: discord.Interaction) -> None:
        status = await asyncio.to_thread(self.bot.service.status)
        await interaction.response.send_message(embed=discord.Embed.from_dict(status_embed(status)))

    @app_commands.command(name="help", description="How to use newsbot")
    async def help(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            embed=discord.Embed.from_dict(
                help_embed(
                    self.bot.settings.discord.cooldown_seconds,
                    self.bot.settings.discord.answer_channels,
                )
            ),
            ephemeral=True,
        )


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(InfoCog(bot))
