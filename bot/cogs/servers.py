"""Each server's own news and settings: /sources list|add|remove and /settings show|set|reset,
and the bot's joining and leaving of servers (see index/servers.py)."""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_client import NewsBot, admin_only
from bot.discord_render import BLUE, inert, message_text, status_embed
from index.ingest.validate import check_source
from index.models import SourceRef
from index.servers import SETTINGS, ServerError, source_names

URL = app_commands.Range[str, 1, 2000]


class ServersCog(commands.Cog):
    sources = app_commands.Group(
        name="sources", description="The news this server answers from", guild_only=True
    )
    server_settings = app_commands.Group(
        name="settings",
        description="This server's settings",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    # ----- /sources -----------------------------------------------------------------------------

    @sources.command(name="list", description="What news this server answers from, and its health")
    async def sources_list(self, interaction: discord.Interaction) -> None:
        guild = interaction.guild_id
        view = self.bot.view(guild, everything=True)
        status = await asyncio.to_thread(self.bot.service.status, view)
        embed = status_embed(status)
        own = await asyncio.to_thread(self.bot.servers.sources, guild or 0)
        limit = self.bot.settings.servers.max_sources
        listing = "\n".join(
            f"**{inert(s.name, 80)}** · {s.ref.kind} · {inert(s.ref.location, 200)}" for s in own
        )
        embed.setdefault("fields", []).append(
            {
                "name": f"This server's own sources ({len(own)} of {limit})",
                "value": message_text(
                    listing or "none yet: an admin can add one with /sources add"
                ),
                "inline": False,
            }
        )
        await interaction.response.send_message(
            embed=discord.Embed.from_dict(embed), ephemeral=True
        )

    @sources.command(name="add", description="Follow a feed or an article page (admins)")
    @app_commands.describe(feed="an RSS or Atom feed's URL", url="one article page's URL")
    @admin_only()
    async def sources_add(
        self, interaction: discord.Interaction, feed: URL | None = None, url: URL | None = None
    ) -> None:
        if (feed is None) == (url is None):
            raise ServerError("Give either feed: or url:, one of them.")
        ref = SourceRef(kind="feed" if feed else "url", location=(feed or url or "").strip())
        guild = interaction.guild_id or 0
        limits = self.bot.settings.servers
        held = await asyncio.to_thread(self.bot.servers.sources, guild)
        if len(held) >= limits.max_sources:  # before the defer: the refusal stays private
            raise ServerError(
                f"This server follows {len(held)} sources, its limit; remove one with "
                "/sources remove first."
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        check = await asyncio.to_thread(check_source, ref, self.bot.settings.fetch)
        if check.problem:
            await interaction.edit_original_response(
                content=message_text(f"Not added: {ref.location}: {check.problem}.")
            )
            return
        try:
            added = await asyncio.to_thread(
                self.bot.servers.add_source,
                guild,
                ref.model_copy(update={"name": check.title[:80] or None}),
                limits.max_sources,
            )
        except ServerError as error:
            await interaction.edit_original_response(content=message_text(str(error)))
            return
        fetched = await self._fetch_now(frozenset({ref.origin}))
        await interaction.edit_original_response(
            content=message_text(
                f"Added **{inert(added.name, 80)}**; members of this server now get answers from "
                f"it. {fetched}"
            )
        )

    @sources.command(name="remove", description="Stop following one of this server's sources")
    @app_commands.describe(source="its name, as /sources list shows it")
    @admin_only()
    async def sources_remove(
        self, interaction: discord.Interaction, source: app_commands.Range[str, 1, 2000]
    ) -> None:
        removed = await asyncio.to_thread(
            self.bot.servers.remove_source, interaction.guild_id or 0, source
        )
        await interaction.response.send_message(
            message_text(
                f"Removed **{inert(removed.name, 80)}**; its articles leave this server's answers "
                "now, and the index at the next reindex unless another server follows it."
            ),
            ephemeral=True,
        )

    @sources_remove.autocomplete("source")
    async def _own_sources(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        own = await asyncio.to_thread(self.bot.servers.sources, interaction.guild_id or 0)
        typed = current.lower().strip()
        return [
            app_commands.Choice(name=s.name[:100], value=s.name[:100])
            for s in own
            if typed in s.name.lower() or typed in s.ref.location.lower()
        ][:25]

    async def _fetch_now(self, only: frozenset[str]) -> str:
        """Fetch a source just added, so its articles answer at once; words for the admin."""
        if self.bot.service.reindexing:
            return "A reindex is running; the source's articles arrive with the next one."
        try:
            report = await asyncio.to_thread(self.bot.service.reindex, None, only)
        except Exception as exc:  # the source is saved; the next reindex tries again
            return f"Its first fetch failed ({exc}); the next reindex tries again."
        return f"{report.counts.new} articles indexed."

    # ----- /settings ----------------------------------------------------------------------------

    @server_settings.command(
        name="show", description="This server's settings, and where each comes from"
    )
    @admin_only()
    async def settings_show(self, interaction: discord.Interaction) -> None:
        channel = interaction.channel_id
        found = self.bot.effective(interaction.guild_id, channel)
        lines = [
            f"**{key}**: {inert(s.shown, 300)} · from {s.where}"
            + (" (can be set per channel)" if SETTINGS[key].per_channel else "")
            for key, s in found.items()
        ]
        await interaction.response.send_message(
            embed=discord.Embed.from_dict(
                {
                    "title": "Settings here",
                    "description": message_text("\n".join(lines)),
                    "color": BLUE,
                }
            ),
            ephemeral=True,
        )

    @server_settings.command(name="set", description="Change a setting for this server or channel")
    @app_commands.describe(
        setting="what to change",
        value="the new value, e.g. 30 for a cooldown, #news for channels, 7d for since",
        channel="only in this channel (for sources and since)",
    )
    @app_commands.choices(
        setting=[
            app_commands.Choice(name=f"{k}: {v.description}"[:100], value=k)
            for k, v in SETTINGS.items()
        ]
    )
    @admin_only()
    async def settings_set(
        self,
        interaction: discord.Interaction,
        setting: str,
        value: app_commands.Range[str, 1, 1000],
        channel: discord.TextChannel | None = None,
    ) -> None:
        if setting == "sources":
            own = await asyncio.to_thread(self.bot.servers.sources, interaction.guild_id or 0)
            known = source_names(self.bot.settings.source_refs(), own)
            unknown = [n.strip() for n in value.split(",") if n.strip() and n.strip() not in known]
            if unknown:
                raise ServerError(
                    f"No source here is named {', '.join(unknown)}; the names are: "
                    f"{', '.join(sorted(known))}."
                )
        saved = await asyncio.to_thread(
            self.bot.servers.set,
            interaction.guild_id or 0,
            channel.id if channel else None,
            setting,
            value,
        )
        where = f"<#{channel.id}>" if channel else "this server"
        note = ""
        if setting == "answer_channels" and not self.bot.intents.message_content:
            note = (
                " Answer channels need the Message Content intent, which this bot does not "
                "have; ask its operator to turn it on."
            )
        await interaction.response.send_message(
            message_text(f"**{setting}** is now {inert(saved.shown, 300)} in {where}.{note}"),
            ephemeral=True,
        )

    @settings_set.autocomplete("value")
    async def _values(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Values that fit the setting chosen: this server's source names, or periods."""
        setting = getattr(interaction.namespace, "setting", None)
        if setting == "sources":
            own = await asyncio.to_thread(self.bot.servers.sources, interaction.guild_id or 0)
            names = [r.name or r.location for r in self.bot.settings.source_refs()]
            names += [s.name for s in own]
        elif setting == "since":
            names = ["24h", "7d", "30d"]
        else:
            return []
        typed = current.lower().rsplit(",", 1)[-1].strip()
        return [
            app_commands.Choice(name=n[:100], value=n[:100]) for n in names if typed in n.lower()
        ][:25]

    @server_settings.command(name="reset", description="Go back to the default for a setting")
    @app_commands.describe(setting="what to reset", channel="only this channel's own value")
    @app_commands.choices(setting=[app_commands.Choice(name=k, value=k) for k in SETTINGS])
    @admin_only()
    async def settings_reset(
        self,
        interaction: discord.Interaction,
        setting: str,
        channel: discord.TextChannel | None = None,
    ) -> None:
        await asyncio.to_thread(
            self.bot.servers.reset,
            interaction.guild_id or 0,
            channel.id if channel else None,
            setting,
        )
        await interaction.response.send_message(
            message_text(f"**{setting}** is back to its default."), ephemeral=True
        )


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(ServersCog(bot))
