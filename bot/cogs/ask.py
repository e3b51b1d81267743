"""Asking: /ask, mentions, and messages in the configured answer channels."""

from __future__ import annotations

import asyncio
import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.cooldown import UserCooldown
from bot.discord_client import NewsBot
from bot.discord_errors import words_for
from bot.discord_render import answer_embed
from index.answer.question import MAX_QUESTION_CHARS, clean_question, parse_since
from index.errors import NewsbotError
from index.search.searcher import SearchFilters


class AskCog(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.cooldown = UserCooldown(bot.settings.discord.cooldown_seconds)
        self.max_chars = bot.settings.answer.max_question_chars

    @app_commands.command(name="ask", description="Ask a question about the indexed news")
    @app_commands.describe(
        question="Your question, e.g. How many GPUs will Meta have?",
        since="only news from then on: 7d, 24h, 2w or a date such as 2024-01-31",
        source="only news from this outlet or site, e.g. cnn.com",
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, MAX_QUESTION_CHARS],
        since: app_commands.Range[str, 1, 40] | None = None,
        source: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        # Cheap refusals first, so they can still be private (ephemeral) replies.
        self._check_cooldown(interaction.user.id)
        question = clean_question(question, self.max_chars)
        filters = SearchFilters(since=parse_since(since) if since else None, source=source)
        await interaction.response.defer(thinking=True)
        answer = await asyncio.to_thread(self.bot.service.answer, question, filters)
        await interaction.followup.send(embed=discord.Embed.from_dict(answer_embed(answer)))

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if me is None or message.author.bot:
            return
        mentioned = me in message.mentions
        if not mentioned and message.channel.id not in self.bot.settings.discord.answer_channels:
            return
        text = re.sub(rf"<@!?{me.id}>", " ", message.content)
        try:
            self._check_cooldown(message.author.id)
            question = clean_question(text, self.max_chars)
            async with message.channel.typing():
                answer = await asyncio.to_thread(self.bot.service.answer, question)
        except (NewsbotError, app_commands.CommandOnCooldown) as error:
            await message.reply(words_for(error), mention_author=False)
            return
        await message.reply(
            embed=discord.Embed.from_dict(answer_embed(answer)), mention_author=False
        )

    def _check_cooldown(self, user_id: int) -> None:
        wait = self.cooldown.retry_after(user_id)
        if wait > 0:
            raise app_commands.CommandOnCooldown(
                app_commands.Cooldown(1, self.cooldown.seconds), wait
            )


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(AskCog(bot))
