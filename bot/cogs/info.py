"""/help."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_client import NewsBot
from bot.discord_render import help_embed


class InfoCog(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="How to use newsbot")
    async def help(self, interaction: discord.Interaction) -> None:
        settings = self.bot.effective(interaction.guild_id, interaction.channel_id)
        await interaction.response.send_message(
            embed=discord.Embed.from_dict(
                help_embed(
                    float(settings["cooldown"].value or 0.0),  # type: ignore[arg-type]
                    list(settings["answer_channels"].value or []),  # type: ignore[call-overload]
                )
            ),
            ephemeral=True,
        )


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(InfoCog(bot))
