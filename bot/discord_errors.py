"""The one place where errors become words for Discord users."""

from __future__ import annotations

import logging
import math

import discord
from discord import app_commands

from bot.discord_render import error_text
from index.errors import NewsbotError

log = logging.getLogger(__name__)


def words_for(error: BaseException) -> str:
    """The message for ``error``: one sentence, inert (it can quote a user or a feed), in limits."""
    return error_text(_sentence(error))


def _sentence(error: BaseException) -> str:
    original = getattr(error, "original", error)
    if isinstance(original, NewsbotError):
        return str(original)
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"You are asking faster than this server allows; try again in {math.ceil(error.retry_after)} s."
    if isinstance(error, app_commands.MissingPermissions):
        return "Sorry, only members with Manage Server or an admin role can do that."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "That command works in a server channel, not in direct messages."
    if isinstance(error, app_commands.CheckFailure):
        return "Sorry, you cannot use this command here."
    return "Something went wrong on my side while doing that; the error has been logged."


def is_expected(error: BaseException) -> bool:
    return isinstance(getattr(error, "original", error), NewsbotError) or isinstance(
        error, app_commands.CheckFailure
    )


async def report_app_command_error(
    interaction: discord.Interaction, error: app_commands.AppCommandError
) -> None:
    if not is_expected(error):
        log.error("Command %s failed", getattr(interaction.command, "name", "?"), exc_info=error)
    text = words_for(error)
    try:
        if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            # After a public "thinking…": the error takes its place; no second message.
            await interaction.edit_original_response(content=text)
        elif interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("Could not tell the user about an error (interaction expired)")
