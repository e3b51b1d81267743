"""The buttons under every answer: 👍 / 👎, More sources, Why this answer?, Ask a follow-up.

They are persistent: each button's custom id carries the action and the answer's journal key,
and one ``DynamicItem`` class answers every press by parsing it, so buttons on old messages keep
working after a restart. The journal holds what each button shows.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import discord

from bot.discord_render import clip, sources_embed, why_embed
from index.answer.journal import Journal

_TEMPLATE = r"nb:(?P<action>up|down|more|why|thread):(?P<key>[0-9a-f]{16})"
THREAD_NAME_LIMIT = 90


def answer_key(custom_id: str | None) -> str | None:
    """The journal key a button of ours carries, or None for anything else."""
    match = re.fullmatch(_TEMPLATE, custom_id or "")
    return match["key"] if match else None


GONE = "That answer is older than the journal keeps, so there is nothing more to show."


class AnswerButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=_TEMPLATE):
    def __init__(self, action: str, key: str) -> None:
        label, emoji, style = _LOOKS[action]
        super().__init__(
            discord.ui.Button(label=label, emoji=emoji, style=style, custom_id=f"nb:{action}:{key}")
        )
        self.action = action
        self.key = key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AnswerButton:
        return cls(match["action"], match["key"])

    async def callback(self, interaction: discord.Interaction) -> None:
        journal: Journal | None = getattr(interaction.client, "journal", None)
        if journal is None:
            await interaction.response.send_message(GONE, ephemeral=True)
            return
        if self.action in ("up", "down"):
            await _vote(interaction, journal, self.key, 1 if self.action == "up" else -1)
        elif self.action == "thread":
            await _open_thread(interaction, journal, self.key)
        else:
            record = await asyncio.to_thread(journal.get, self.key)
            if record is None:
                await interaction.response.send_message(GONE, ephemeral=True)
                return
            embed = sources_embed(record) if self.action == "more" else why_embed(record)
            await interaction.response.send_message(
                embed=discord.Embed.from_dict(embed), ephemeral=True
            )


_LOOKS: dict[str, tuple[str | None, str | None, discord.ButtonStyle]] = {
    "up": (None, "👍", discord.ButtonStyle.secondary),
    "down": (None, "👎", discord.ButtonStyle.secondary),
    "more": ("More sources", None, discord.ButtonStyle.secondary),
    "why": ("Why this answer?", None, discord.ButtonStyle.secondary),
    "thread": ("Ask a follow-up", None, discord.ButtonStyle.primary),
}


def answer_view(key: str, *, facts: bool = True, thread: bool = True) -> discord.ui.View:
    """The buttons for the answer ``key``: "Why this answer?" only for a fact, "Ask a follow-up"
    only where a thread can be opened."""
    view = discord.ui.View(timeout=None)
    actions = ["up", "down", "more"] + (["why"] if facts else []) + (["thread"] if thread else [])
    for action in actions:
        view.add_item(AnswerButton(action, key))
    return view


async def _vote(interaction: discord.Interaction, journal: Journal, key: str, value: int) -> None:
    vote = await asyncio.to_thread(journal.vote, key, interaction.user.id, value)
    if vote is None:
        text = GONE
    elif vote.changed:
        text = f"Changed your vote to {'👍' if value > 0 else '👎'}."
    else:
        text = (
            "Thanks, noted." if value > 0 else "Thanks; admins see answers voted down in /report."
        )
    await interaction.response.send_message(text, ephemeral=True)


async def _open_thread(interaction: discord.Interaction, journal: Journal, key: str) -> None:
    message = interaction.message
    if message is None or not isinstance(message.channel, discord.TextChannel):
        await interaction.response.send_message(
            "Reply to the answer to ask a follow-up here.", ephemeral=True
        )
        return
    record = await asyncio.to_thread(journal.get, key)
    if record is None:
        await interaction.response.send_message(GONE, ephemeral=True)
        return
    thread = message.thread or await message.create_thread(
        name=clip(record.question, THREAD_NAME_LIMIT), auto_archive_duration=1440
    )
    await asyncio.to_thread(journal.open_thread, thread.id, key, interaction.user.id)
    await interaction.response.send_message(
        f"Ask your follow-ups in {thread.mention}; every message you write there is one.",
        ephemeral=True,
    )
