"""Asking: /ask, /latest, mentions, replies to answers, follow-up threads and answer channels."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import discord
from discord import app_commands
from discord.ext import commands

from bot.answer_views import answer_key, answer_view
from bot.cooldown import UserCooldown
from bot.discord_client import NewsBot
from bot.discord_errors import words_for
from bot.discord_render import answer_embed, short_refusal
from index.answer.question import MAX_QUESTION_CHARS, clean_question, parse_since
from index.answer.understanding import looks_like_question
from index.errors import NewsbotError
from index.models import Answer
from index.search.searcher import SearchFilters

SINCE_CHOICES = ("24h", "7d", "30d")
WAIT = "⏳"  # a mention during the cooldown: a reaction, not a message in the channel


class AskCog(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self._cooldowns: dict[tuple[int, float], UserCooldown] = {}
        self.max_chars = bot.settings.answer.max_question_chars

    def _cooldown(self, guild: int | None) -> UserCooldown:
        """The cooldown of ``guild``: the server's own setting, or the config file's."""
        seconds = float(self.bot.effective(guild)["cooldown"].value or 0.0)  # type: ignore[arg-type]
        key = (guild or 0, seconds)
        if key not in self._cooldowns:
            self._cooldowns = {k: v for k, v in self._cooldowns.items() if k[0] != key[0]}
            self._cooldowns[key] = UserCooldown(seconds)
        return self._cooldowns[key]

    def _filters(
        self, interaction: discord.Interaction, since: str | None, source: str | None
    ) -> tuple[SearchFilters, frozenset[str]]:
        """What the asker typed, the channel's default ``since`` when they typed none, and the
        sources their server and channel may see."""
        channel = _settings_channel(interaction.channel)
        settings = self.bot.effective(interaction.guild_id, channel)
        since = since or settings["since"].value  # type: ignore[assignment]
        filters = SearchFilters(since=parse_since(since) if since else None, source=source)
        return filters, self.bot.view(interaction.guild_id, channel, settings=settings)

    # ----- slash commands ---------------------------------------------------------------------

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
        # Everything that can fail fast fails before the public "thinking…", so its error is
        # private (ephemeral) and the channel sees nothing.
        self._check_cooldown(interaction)
        question = clean_question(question, self.max_chars)
        filters, view = self._filters(interaction, since, source)
        await asyncio.to_thread(self.bot.service.precheck, question, filters, view)
        await interaction.response.defer(thinking=True)
        await self._answer_interaction(
            interaction,
            lambda: self.bot.service.answer(question, filters, view=view),
            filters,
        )

    @app_commands.command(name="latest", description="The newest articles, on a topic or on all")
    @app_commands.describe(
        topic="what the articles are about, e.g. Meta; leave empty for all the news",
        since="only news from then on: 7d, 24h, 2w or a date such as 2024-01-31",
        source="only news from this outlet or site, e.g. cnn.com",
    )
    async def latest(
        self,
        interaction: discord.Interaction,
        topic: app_commands.Range[str, 1, 200] | None = None,
        since: app_commands.Range[str, 1, 40] | None = None,
        source: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        self._check_cooldown(interaction)
        filters, view = self._filters(interaction, since, source)
        await asyncio.to_thread(self.bot.service.precheck, topic or "latest news", filters, view)
        await interaction.response.defer(thinking=True)
        await self._answer_interaction(
            interaction, lambda: self.bot.service.brief(topic or "", filters, view), filters
        )

    @ask.autocomplete("source")
    @latest.autocomplete("source")
    async def _outlets(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        view = self.bot.view(interaction.guild_id, _settings_channel(interaction.channel))
        try:
            names = await asyncio.to_thread(self.bot.service.outlets, current, 25, view)
        except NewsbotError:
            return []
        return [app_commands.Choice(name=n[:100], value=n[:100]) for n in names]

    @ask.autocomplete("since")
    @latest.autocomplete("since")
    async def _since(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().lower()
        return [app_commands.Choice(name=c, value=c) for c in SINCE_CHOICES if typed in c]

    async def _answer_interaction(
        self,
        interaction: discord.Interaction,
        answering: Callable[[], Answer],
        filters: SearchFilters,
    ) -> None:
        try:
            answer = await asyncio.to_thread(answering)
        except NewsbotError as error:
            # After the public defer: the error takes the place of "thinking…", never a
            # second message.
            await interaction.edit_original_response(content=words_for(error))
            return
        key = await asyncio.to_thread(
            self.bot.journal.record,
            answer,
            filters=filters,
            guild=interaction.guild_id,
            channel=interaction.channel_id,
        )
        await interaction.followup.send(
            embed=discord.Embed.from_dict(answer_embed(answer)),
            view=answer_view(key, facts=answer.sentence is not None),
        )

    # ----- messages ---------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if me is None or message.author.bot:
            return
        journal = self.bot.journal
        text = re.sub(rf"<@!?{me.id}>", " ", message.content)
        mentioned = me in message.mentions
        parent = await self._replied_answer(message, me.id)
        thread = (
            await asyncio.to_thread(journal.thread, message.channel.id)
            if isinstance(message.channel, discord.Thread)
            else None
        )
        if thread is not None and parent is None:
            latest, owner = thread
            # In a follow-up thread, the member who opened it needs no mention.
            if owner == journal.voter(message.author.id) or mentioned:
                parent = latest
        quiet = False
        guild = message.guild.id if message.guild else None
        channel = _settings_channel(message.channel)
        settings = self.bot.effective(guild, channel)
        if parent is None and not mentioned:
            answer_channels = settings["answer_channels"].value or []
            in_channel = message.channel.id in answer_channels  # type: ignore[operator]
            if not in_channel or not looks_like_question(text):
                return
            quiet = True  # an answer channel: short refusals, no cards for chatter
        if not text.strip() and parent is not None and not mentioned:
            return  # content hidden (no Message Content intent): nothing to read
        if self._cooldown(guild).retry_after(message.author.id) > 0:
            await message.add_reaction(WAIT)
            return
        try:
            question = clean_question(text, self.max_chars)
            conversation = await asyncio.to_thread(journal.conversation, parent) if parent else None
            async with message.channel.typing():
                answer = await asyncio.to_thread(
                    self.bot.service.answer,
                    question,
                    None,
                    conversation,
                    self.bot.view(guild, channel, settings=settings),
                )
        except NewsbotError as error:
            await message.reply(words_for(error), mention_author=False)
            return
        last = conversation.last() if conversation else None
        key = await asyncio.to_thread(
            journal.record,
            answer,
            parent=parent,
            filters=last.filters if last else None,
            guild=message.guild.id if message.guild else None,
            channel=message.channel.id,
        )
        if thread is not None:
            await asyncio.to_thread(journal.advance_thread, message.channel.id, key)
        if quiet and answer.refusal is not None:
            await message.reply(short_refusal(answer), mention_author=False)
            return
        await message.reply(
            embed=discord.Embed.from_dict(answer_embed(answer)),
            view=answer_view(
                key,
                facts=answer.sentence is not None,
                thread=not isinstance(message.channel, discord.Thread),
            ),
            mention_author=False,
        )

    async def _replied_answer(self, message: discord.Message, me: int) -> str | None:
        """The journal key of the bot's answer this message replies to, fetched through
        Discord's API when the gateway did not include it."""
        reference = message.reference
        if reference is None or reference.message_id is None:
            return None
        replied = reference.resolved
        if not isinstance(replied, discord.Message):
            try:
                replied = await message.channel.fetch_message(reference.message_id)
            except discord.HTTPException:
                return None
        if replied.author.id != me:
            return None
        for row in replied.components:
            for item in getattr(row, "children", []):
                key = answer_key(getattr(item, "custom_id", None))
                if key:
                    return key
        return None

    def _check_cooldown(self, interaction: discord.Interaction) -> None:
        cooldown = self._cooldown(interaction.guild_id)
        wait = cooldown.retry_after(interaction.user.id)
        if wait > 0:
            raise app_commands.CommandOnCooldown(app_commands.Cooldown(1, cooldown.seconds), wait)


def _settings_channel(channel: object) -> int | None:
    """The channel whose settings apply: a thread follows the channel it was opened in."""
    if isinstance(channel, discord.Thread):
        return channel.parent_id
    return getattr(channel, "id", None)


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(AskCog(bot))
