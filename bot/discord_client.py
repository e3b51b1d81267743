"""The Discord bot class: intents, safe defaults, extensions, and deliberate command sync."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.answer_views import AnswerButton
from bot.discord_errors import report_app_command_error
from bot.settings import Settings
from index.answer.journal import Journal
from index.errors import NewsbotError
from index.servers import ServerDirectory, Setting, view_of
from index.service import NewsService

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.cogs.ask",
    "bot.cogs.admin",
    "bot.cogs.info",
    "bot.cogs.servers",
    "bot.cogs.refresh",
)
SyncMode = Literal["if-changed", "always"]


def intents_for(settings: Settings) -> discord.Intents:
    """Only what the bot uses. Message content is privileged: asked for only with answer channels."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = bool(settings.discord.answer_channels)
    return intents


class NewsBot(commands.Bot):
    def __init__(
        self,
        settings: Settings,
        service: NewsService,
        *,
        sync: SyncMode = "if-changed",
        journal: Journal | None = None,
        **options: Any,
    ) -> None:
        shards = settings.discord
        if shards.shard_count is not None:
            # One shard per process: Discord routes each server to one of them.
            options.setdefault("shard_count", shards.shard_count)
            options.setdefault("shard_id", shards.shard_id)
        super().__init__(
            command_prefix=commands.when_mentioned,  # required by commands.Bot; no text commands exist
            help_command=None,
            intents=intents_for(settings),
            # Article text is untrusted: nothing the bot sends may ever ping anyone.
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
        )
        self.settings = settings
        self.service = service
        self.sync_mode = sync
        self.synced: list[str] = []
        self.journal = journal or Journal(
            settings.store_path, retention_days=settings.feedback.retention_days
        )
        self.servers = ServerDirectory(settings.store_path, settings.servers.grace_days)

    # ----- what applies in one server and channel ---------------------------------------------

    def effective(self, guild: int | None, channel: int | None = None) -> dict[str, Setting]:
        """The settings as they apply in ``channel`` of ``guild``, each with where it comes from:
        the channel, the server (both set from Discord), or the config file."""
        d = self.settings.discord
        defaults: dict[str, object] = {
            "answer_channels": d.answer_channels,
            "cooldown": d.cooldown_seconds,
            "admin_roles": d.admin_role_ids,
        }
        return self.servers.effective(guild or 0, channel, defaults)

    def view(
        self,
        guild: int | None,
        channel: int | None = None,
        *,
        everything: bool = False,
        settings: dict[str, Setting] | None = None,
    ) -> frozenset[str]:
        """The sources questions in ``channel`` may see: the configured ones and the server's
        own, or the subset the channel's ``sources`` setting names (unless ``everything``).
        ``settings``: the channel's, when the caller has them already (one read, not two)."""
        own = self.servers.sources(guild) if guild else []
        if not everything and settings is None:
            settings = self.effective(guild, channel)
        chosen = None if settings is None else settings["sources"].value
        return view_of(self.settings.source_refs(), own, chosen)  # type: ignore[arg-type]

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            try:
                await self.load_extension(extension)
            except Exception:
                log.exception("Failed to load extension %s", extension)
        self.tree.on_error = report_app_command_error  # type: ignore[method-assign]
        # Buttons under answers sent before a restart keep working.
        self.add_dynamic_items(AnswerButton)
        pruned = await asyncio.to_thread(self.journal.prune)
        if pruned:
            log.info("Pruned %d answers older than %d days", pruned, self.journal.retention_days)
        await self.purge_departed()
        await self.sync_commands()

    async def close(self) -> None:
        await super().close()
        self.journal.close()
        self.servers.close()

    async def on_ready(self) -> None:
        # Before any await: the bot may be closing by the time a thread would finish.
        self.servers.joined_all([(g.id, g.name) for g in self.guilds])
        try:
            status = await asyncio.to_thread(self.service.status)
            index = f"{status.articles:,} articles, {status.passages:,} passages, built {status.indexed_at:%Y-%m-%d %H:%M} UTC"
        except NewsbotError as exc:
            index = f"no index yet ({exc})"
        log.info("ready: %d servers; %s", len(self.guilds), index)

    async def purge_departed(self) -> None:
        """Forget servers the bot left longer ago than the grace period (at start and before
        each scheduled refresh, which then prunes the articles no one follows any more)."""
        purged = await asyncio.to_thread(self.servers.purge_departed)
        if purged:
            log.info("Deleted the settings and sources of %d servers left long ago", len(purged))

    # Joining and leaving write one small row, in the event loop on purpose: an event that
    # follows (a question in that server) must find it written.
    async def on_guild_join(self, guild: discord.Guild) -> None:
        self.servers.joined(guild.id, guild.name)
        log.info("Joined a server (%d members)", guild.member_count or 0)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        # Kept for the grace period: a server that re-invites the bot finds its setup again.
        self.servers.left(guild.id)
        log.info("Left a server; its settings are kept for %g days", self.servers.grace.days)

    async def on_message(self, message: discord.Message) -> None:
        """Questions are handled by the ask cog's listener; there are no prefix commands."""

    async def sync_commands(self) -> None:
        """Sync to the configured guilds, or globally when none are configured; never both.

        With ``if-changed`` (every start) it syncs only when the declared commands differ from
        the last sync recorded on disk, so restarts do not hit Discord's sync rate limits.
        """
        guild_ids = self.settings.discord.guild_ids
        scope = "guilds:" + ",".join(map(str, sorted(guild_ids))) if guild_ids else "global"
        payload = [cmd.to_dict(self.tree) for cmd in self.tree.get_commands()]
        digest = hashlib.sha256(json.dumps([scope, payload], sort_keys=True).encode()).hexdigest()
        state = self._sync_state_path()
        recorded = _read_json(state)
        key = str(self.application_id)
        if self.sync_mode == "if-changed" and recorded.get(key) == digest:
            log.info("Application commands unchanged since the last sync; not syncing")
            return
        if guild_ids:
            for guild_id in guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
                self.synced.append(f"guild {guild_id}")
        else:
            await self.tree.sync()
            self.synced.append("global")
        recorded[key] = digest
        _write_json(state, recorded)
        log.info("Synced application commands (%s)", scope)

    def _sync_state_path(self) -> Path:
        index = self.settings.index.path
        return index.with_name(index.name + ".command-sync.json")


def is_admin(interaction: discord.Interaction, bot: NewsBot) -> bool:
    """Manage Server, or one of the admin roles (the config's, or the server's own setting);
    checked in code on every call, because server admins can change a command's default
    permissions."""
    user = interaction.user
    if not isinstance(user, discord.Member):
        return False
    if interaction.permissions.manage_guild:
        return True
    allowed = set(bot.effective(interaction.guild_id)["admin_roles"].value or [])  # type: ignore[call-overload]
    return any(role.id in allowed for role in user.roles)


def admin_only() -> Any:
    """The real check plus the default permission, applied together so they cannot drift."""

    def decorator(func: Any) -> Any:
        async def predicate(interaction: discord.Interaction) -> bool:
            if not is_admin(interaction, interaction.client):  # type: ignore[arg-type]
                raise app_commands.MissingPermissions(["manage_guild"])
            return True

        func = app_commands.check(predicate)(func)
        return app_commands.default_permissions(manage_guild=True)(func)

    return decorator


def _read_json(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_json(path: Path, data: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)
