"""A small fake Discord on 127.0.0.1: the REST routes and the gateway the bot uses, no more.

The real discord.py client talks to it over real sockets. Every request is recorded; a route it
does not know is answered 404 and recorded in ``unknown`` so a test can fail on it. It applies
Discord's rules that matter to a bot: one acknowledgement per interaction within 3 seconds, and
blank message content without the message-content intent unless the bot is mentioned.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = "900000000000000001"
BOT_ID = "900000000000000002"
GUILD_ID = "900000000000000010"
CHANNEL_ID = "900000000000000020"
OTHER_CHANNEL_ID = "900000000000000021"
ADMIN_ROLE_ID = "900000000000000030"
MANAGE_GUILD = 1 << 5
MESSAGE_CONTENT_INTENT = 1 << 15
_ids = itertools.count(910000000000000000)

BOT_USER = {
    "id": BOT_ID,
    "username": "newsbot",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
}


def user(user_id: int, name: str) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
    }


def _json(data: Any, status: int = 200) -> web.Response:
    # Exactly "application/json": with "; charset=utf-8" discord.py reads the body as text.
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


@dataclass
class Sent:
    """One request from the bot that carried a message or an embed."""

    route: str
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class FakeDiscord:
    def __init__(self, *, message_content_enabled: bool = True) -> None:
        self.message_content_enabled = message_content_enabled
        self.log: list[str] = []
        self.unknown: list[str] = []
        self.sent: list[Sent] = []
        self.synced: dict[str, list[dict[str, Any]]] = {}
        self.identify: dict[str, Any] | None = None
        self.auth_headers: list[str] = []
        self.acks: dict[str, list[dict[str, Any]]] = {}
        # token -> (interaction id, dispatched at, the message a button was on)
        self._interactions: dict[str, tuple[str, float, str | None]] = {}
        self._ws: web.WebSocketResponse | None = None
        self._zlib: Any = None
        # Every gateway connection: (socket, compressor, (shard id, shard count) or None).
        self._connections: list[tuple[web.WebSocketResponse, Any, tuple[int, int] | None]] = []
        self.guild_ids = [GUILD_ID]  # the servers the bot is in
        self._seq = 0
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.messages: dict[str, dict[str, Any]] = {}  # every message, by id
        self.originals: dict[str, str] = {}  # interaction token -> its response message id
        self.reactions: list[tuple[str, str]] = []  # (message id, emoji)
        self.threads: dict[str, dict[str, Any]] = {}  # thread id -> channel

    # ----- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for ws, _, _ in self._connections:
            if not ws.closed:
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
        """Wait until ``predicate`` holds; it is re-checked whenever the fake records something."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def _record(self, entry: str) -> None:
        self.log.append(entry)
        async with self._changed:
            self._changed.notify_all()

    # ----- REST ------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = request.path.removeprefix("/api/v10")
        method = request.method
        body: dict[str, Any] = {}
        if request.can_read_body:
            if not request.content_type.startswith("application/json"):
                return await self._unknown(f"{method} {path} ({request.content_type})")
            body = await request.json()
        parts = path.strip("/").split("/")
        if not parts[0].startswith(("interactions", "webhooks")):
            self.auth_headers.append(request.headers.get("Authorization", ""))
        handler = self._route(method, parts)
        if handler is None:
            return await self._unknown(f"{method} {path}")
        response = await handler(parts, body)
        await self._record(f"{method} {'/'.join(parts[:2])}")
        return response

    def _route(self, method: str, parts: list[str]) -> Any:
        match (method, parts):
            case ("GET", ["users", "@me"]):
                return self._me
            case ("GET", ["oauth2", "applications", "@me"]):
                return self._application
            case ("PUT", ["applications", _, "commands"]) | (
                "PUT",
                ["applications", _, "guilds", _, "commands"],
            ):
                return self._sync
            case ("GET", ["applications", _, "commands"]) | (
                "GET",
                ["applications", _, "guilds", _, "commands"],
            ):
                return self._get_commands
            case ("POST", ["channels", _, "messages"]):
                return self._channel_message
            case ("GET", ["channels", _, "messages", _]):
                return self._get_message
            case ("PUT", ["channels", _, "messages", _, "reactions", _, "@me"]):
                return self._react
            case ("POST", ["channels", _, "messages", _, "threads"]):
                return self._start_thread
            case ("POST", ["channels", _, "typing"]):
                return self._typing
            case ("POST", ["interactions", _, _, "callback"]):
                return self._callback
            case ("POST", ["webhooks", _, _]):
                return self._followup
            case ("PATCH", ["webhooks", _, _, "messages", "@original"]) | (
                "GET",
                ["webhooks", _, _, "messages", "@original"],
            ):
                return self._original
        return None

    async def _unknown(self, what: str) -> web.Response:
        self.unknown.append(what)
        await self._record(f"UNKNOWN {what}")
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    async def _me(self, parts: list[str], body: dict[str, Any]) -> web.Response:
        return _json(BOT_USER)

    async def _application(self, parts: list[str], body: dict[str, Any]) -> web.Response:
        return _json({
            "id": APP_ID, "name": "newsbot", "description": "", "icon": None, "bot_public": True,
            "bot_require_code_grant": False, "owner": user(1, "owner"), "verify_key": "00",
            "flags": 0, "interactions_endpoint_url": None, "summary": "",
        })  # fmt: skip

    async def _sync(self, parts: list[str], body: Any) -> web.Response:
        scope = parts[3] if parts[2] == "guilds" else "global"
        commands = [
            {**c, "id": str(next(_ids)), "application_id": APP_ID, "version": "1"} for c in body
        ]
        self.synced[scope] = commands
        await self._record(f"SYNC {scope}")
        return _json(commands)

    async def _get_commands(self, parts: list[str], body: dict[str, Any]) -> web.Response:
        return _json(self.synced.get(parts[3] if parts[2] == "guilds" else "global", []))

    async def _channel_message(self, parts: list[str], body: dict[str, Any]) -> web.Response:
        self.sent.append(Sent(f"channel {parts[1]}", body))
        message = self._message(parts[1], body)
        reference = body.get("message_reference") or {}
        replied = str(reference.get("message_id", ""))  # discord.py sends ids as numbers
        if replied in self.messages:
            message["message_reference"] = {
                "message_id": replied,
                "channel_id": parts[1],
                "guild_id": GUILD_ID,
            }
            message["referenced_message"] = self.messages[replied]
            message["type"] = 19
        return _json(message)

    async def _get_message(self, parts: list[str], body: dict[str, Any]) -> web.Response:
        message = self.messages.get(parts[3])
        if message is None or message["channel_id"] != parts[1]:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        return _json(message)

    async def _react(self, parts: list[str], body: dict[str, Any]) -> web.Response:
        from urllib.parse import unquote

        self.reactions.append((parts[3], unquote(parts[5])))
        await self._record(f"REACT {unquote(parts[5])}")
        return web.Response(status=204)

    async def _start_thread(self, parts: list[str], body: dict[str, Any]) -> web.Response:
        # A thread started from a message has the message's id.
        thread = {
            "id": parts[3], "type": 11, "guild_id": GUILD_ID, "parent_id": parts[1],
            "name": body.get("name", ""), "owner_id": BOT_ID, "member_count": 1, "message_count": 0,
            "thread_metadata": {"archived": False, "auto_archive_duration": body.get("auto_archive_duration", 1440),
                                "archive_timestamp": "2026-01-01T00:00:00+00:00", "locked": False},
            "flags": 0, "rate_limit_per_user": 0, "last_message_id": None,
        }  # fmt: skip
        self.threads[parts[3]] = thread
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        await self._record(f"THREAD {parts[3]}")
        return _json(thread)

    async def _typing(self, parts: list[str], body: dict[str, Any]) -> web.Response:
        return web.Response(status=204)

    async def _callback(self, parts: list[str], body: dict[str, Any]) -> web.Response:
        interaction_id, token = parts[1], parts[2]
        acks = self.acks.setdefault(token, [])
        if acks:
            return _json(
                {"message": "Interaction has already been acknowledged.", "code": 40060}, status=400
            )
        dispatched = self._interactions.get(token, (interaction_id, time.monotonic(), None))[1]
        if time.monotonic() - dispatched > 3.0:
            return _json({"message": "Unknown interaction", "code": 10062}, status=404)
        acks.append(body)
        self.sent.append(
            Sent(f"callback {token}", {**(body.get("data") or {}), "type": body.get("type")})
        )
        if body.get("type") in (6, 7, 8):  # update the clicked message, or autocomplete choices
            source = self._interactions.get(token, ("", 0.0, None))
            message = dict(self.messages.get(source[2] or "", self._message(CHANNEL_ID, {})))
            if body.get("type") == 7:
                message.update(
                    {
                        k: v
                        for k, v in (body.get("data") or {}).items()
                        if k in ("content", "embeds", "components")
                    }
                )
                self.messages[message["id"]] = message
            return _json(
                {
                    "interaction": {"id": interaction_id, "type": 3},
                    "resource": {"type": body.get("type"), "message": message},
                }
            )
        message = self._message(CHANNEL_ID, body.get("data") or {})
        self.originals[token] = message["id"]
        return _json({
            "interaction": {"id": interaction_id, "type": 2, "response_message_id": message["id"],
                            "response_message_loading": body.get("type") == 5,
                            "response_message_ephemeral": bool((body.get("data") or {}).get("flags", 0) & 64)},
            "resource": {"type": body.get("type"), "message": message},
        })  # fmt: skip

    async def _followup(self, parts: list[str], body: dict[str, Any]) -> web.Response:
        self.sent.append(Sent(f"followup {parts[2]}", body))
        return _json(self._message(CHANNEL_ID, body))

    async def _original(self, parts: list[str], body: dict[str, Any]) -> web.Response:
        original = self.messages.get(self.originals.get(parts[2], ""))
        if body:
            self.sent.append(Sent(f"edit {parts[2]}", body))
            if original is not None:
                original.update(
                    {k: v for k, v in body.items() if k in ("content", "embeds", "components")}
                )
        return _json(original or self._message(CHANNEL_ID, body))

    def _message(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        message = {
            "id": str(next(_ids)), "channel_id": channel_id, "guild_id": GUILD_ID, "author": BOT_USER,
            "content": body.get("content") or "", "timestamp": "2026-01-01T00:00:00+00:00",
            "edited_timestamp": None, "tts": False, "mention_everyone": False, "mentions": [],
            "mention_roles": [], "attachments": [], "embeds": body.get("embeds") or [],
            "pinned": False, "type": 0, "flags": body.get("flags", 0),
            "components": body.get("components") or [],
        }  # fmt: skip
        self.messages[message["id"]] = message
        return message

    # ----- gateway ---------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        self._zlib = zlib.compressobj() if request.query.get("compress") == "zlib-stream" else None
        connection = (ws, self._zlib, None)
        self._connections.append(connection)
        await self._send({"op": 10, "d": {"heartbeat_interval": 41250}}, connection)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            if payload["op"] == 1:
                await self._send({"op": 11}, self._connection_of(ws))
            elif payload["op"] == 2:
                await self._identify(ws, payload["d"])
        return ws

    def _connection_of(self, ws: web.WebSocketResponse) -> tuple[Any, Any, Any]:
        return next(c for c in self._connections if c[0] is ws)

    @staticmethod
    def shard_of(guild_id: str, count: int) -> int:
        return (int(guild_id) >> 22) % count  # Discord's rule

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.identify = data
        if data["intents"] & MESSAGE_CONTENT_INTENT and not self.message_content_enabled:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        old = self._connection_of(ws)
        shard = tuple(data["shard"]) if data.get("shard") else None
        connection = (ws, old[1], shard)
        self._connections[self._connections.index(old)] = connection
        guilds = [
            g for g in self.guild_ids if shard is None or self.shard_of(g, shard[1]) == shard[0]
        ]
        await self._send_event("READY", {
            "v": 10, "user": BOT_USER, "guilds": [{"id": g, "unavailable": True} for g in guilds],
            "session_id": "fake-session", "resume_gateway_url": self.gateway_url,
            "application": {"id": APP_ID, "flags": 0}, "private_channels": [], "relationships": [],
            **({"shard": list(shard)} if shard else {}),
        }, connection)  # fmt: skip
        await self._record("READY")
        for guild in guilds:
            await self._send_event("GUILD_CREATE", self._guild(guild), connection)

    def _guild(self, guild_id: str = GUILD_ID) -> dict[str, Any]:
        everyone = {
            "id": guild_id,
            "name": "@everyone",
            "permissions": "1024",
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        admin = {**everyone, "id": ADMIN_ROLE_ID, "name": "news-admin", "position": 1}
        channels = [
            {
                "id": cid,
                "type": 0,
                "name": name,
                "position": i,
                "guild_id": GUILD_ID,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
            }
            for i, (cid, name) in enumerate(
                [(CHANNEL_ID, "news"), (OTHER_CHANNEL_ID, "chat")]
                if guild_id == GUILD_ID
                else [(channel_of(guild_id), "news")]
            )
        ]
        for channel in channels:
            channel["guild_id"] = guild_id
        return {
            "id": guild_id, "name": "Test guild", "icon": None, "owner_id": "1", "unavailable": False,
            "roles": [everyone, admin], "emojis": [], "stickers": [], "features": [], "channels": channels,
            "threads": [], "members": [_member(BOT_USER, [])], "member_count": 3, "large": False,
            "voice_states": [], "presences": [], "stage_instances": [], "guild_scheduled_events": [],
            "verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0,
            "mfa_level": 0, "premium_tier": 0, "system_channel_flags": 0, "preferred_locale": "en-US",
            "joined_at": "2026-01-01T00:00:00+00:00", "nsfw_level": 0, "premium_progress_bar_enabled": False,
        }  # fmt: skip

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send an event to the connection that serves its server (its shard), as Discord does."""
        guild = str(data.get("guild_id") or GUILD_ID)
        sharded = [c for c in self._connections if c[2] is not None and not c[0].closed]
        target = next(
            (c for c in sharded if self.shard_of(guild, c[2][1]) == c[2][0]),  # type: ignore[index]
            self._connections[-1],
        )
        await self._send_event(event, data, target)

    async def _send_event(self, event: str, data: dict[str, Any], connection: Any) -> None:
        self._seq += 1
        await self._send({"op": 0, "t": event, "s": self._seq, "d": data}, connection)

    async def _send(self, payload: dict[str, Any], connection: Any) -> None:
        ws, compressor, _ = connection
        raw = json.dumps(payload).encode()
        if compressor is not None:
            await ws.send_bytes(compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH))
        else:
            await ws.send_str(raw.decode())

    # ----- what users do ---------------------------------------------------------------------

    async def slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        author: dict[str, Any] | None = None,
        permissions: int = 0,
        roles: list[str] | None = None,
        guild: str = GUILD_ID,
    ) -> str:
        """A user runs a slash command ("sources add" for a subcommand); returns the interaction
        token to follow its replies."""
        data = self._command_data(name, options or {}, guild)
        return await self._interact(
            2, data, author=author, permissions=permissions, roles=roles, guild=guild
        )

    async def autocomplete(
        self, name: str, options: dict[str, Any], focused: str, *, guild: str = GUILD_ID
    ) -> list[dict[str, Any]]:
        """A user types into an option with autocomplete; returns the choices offered."""
        data = self._command_data(name, options, guild, focused)
        token = await self._interact(4, data, guild=guild)
        await self.wait_for(lambda: bool(self.replies_to(token)))
        return self.replies_to(token)[0].body.get("choices", [])

    async def click(
        self, message_id: str, custom_id: str, *, author: dict[str, Any] | None = None
    ) -> str:
        """A user presses a button on one of the bot's messages; returns the interaction token."""
        message = self.messages[message_id]
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._interact(3, data, author=author, message=message)

    def _command_data(
        self, name: str, options: dict[str, Any], guild: str, focused: str | None = None
    ) -> dict[str, Any]:
        group, _, sub = name.partition(" ")
        command = self._command(group)
        # An option named "channel" is a channel (type 7), which Discord sends with the channel
        # itself under "resolved"; every other option is a string.
        given = [
            {
                "name": k,
                "type": 7 if k == "channel" else 3,
                "value": v,
                **({"focused": True} if k == focused else {}),
            }
            for k, v in options.items()
        ]
        if sub:  # a subcommand: its options sit inside it
            given = [{"name": sub, "type": 1, "options": given}]
        data = {"id": command["id"], "name": group, "type": 1, "guild_id": guild, "options": given}
        if "channel" in options:
            channel = options["channel"]
            data["resolved"] = {
                "channels": {
                    channel: {"id": channel, "type": 0, "name": "chat", "guild_id": guild,
                              "permissions": "2147483647", "parent_id": None}
                }
            }  # fmt: skip
        return data

    async def add_guild(self, guild_id: str) -> None:
        """The bot is invited to a server."""
        self.guild_ids.append(guild_id)
        # Without "unavailable": a server joined, not one back from an outage.
        guild = {k: v for k, v in self._guild(guild_id).items() if k != "unavailable"}
        await self.dispatch("GUILD_CREATE", {**guild, "guild_id": guild_id})

    async def remove_guild(self, guild_id: str) -> None:
        """The bot is removed from a server (no "unavailable": it is gone, not an outage)."""
        self.guild_ids.remove(guild_id)
        await self.dispatch("GUILD_DELETE", {"id": guild_id, "guild_id": guild_id})

    def _command(self, name: str) -> dict[str, Any]:
        scope = GUILD_ID if GUILD_ID in self.synced else "global"
        return next(c for c in self.synced[scope] if c["name"] == name)

    async def _interact(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        author: dict[str, Any] | None = None,
        permissions: int = 0,
        roles: list[str] | None = None,
        message: dict[str, Any] | None = None,
        guild: str = GUILD_ID,
    ) -> str:
        token = f"token-{next(_ids)}"
        interaction_id = str(next(_ids))
        self._interactions[token] = (
            interaction_id,
            time.monotonic(),
            message["id"] if message else None,
        )
        channel_id = message["channel_id"] if message else channel_of(guild)
        payload = {
            "id": interaction_id, "application_id": APP_ID, "type": kind, "token": token, "version": 1,
            "data": data, "guild_id": guild, "channel_id": channel_id,
            "channel": {"id": channel_id, "type": 0, "guild_id": guild, "name": "news", "position": 0,
                        "permission_overwrites": [], "nsfw": False, "parent_id": None},
            "member": {**_member(author or user(5001, "reader"), roles or []), "permissions": str(permissions)},
            "app_permissions": "2147483647", "locale": "en-US", "guild_locale": "en-US",
            "attachment_size_limit": 8388608, "entitlements": [], "authorizing_integration_owners": {}, "context": 0,
        }  # fmt: skip
        if message is not None:
            payload["message"] = message
        await self.dispatch("INTERACTION_CREATE", payload)
        return token

    async def say(
        self,
        content: str,
        *,
        channel_id: str = CHANNEL_ID,
        author: dict[str, Any] | None = None,
        mention_bot: bool = False,
        reply_to: str | None = None,
    ) -> str:
        """A user posts a message; content is blanked as Discord would without the intent. A reply
        to the bot's message counts as a mention (Discord's default "ping on reply")."""
        assert self.identify is not None
        has_intent = bool(self.identify["intents"] & MESSAGE_CONTENT_INTENT)
        replied = self.messages.get(reply_to or "")
        mentions_bot = mention_bot or bool(replied and replied["author"]["id"] == BOT_ID)
        visible = content if (has_intent or mentions_bot) else ""
        message_id = str(next(_ids))
        message = {
            "id": message_id, "channel_id": channel_id, "guild_id": GUILD_ID,
            "author": author or user(5001, "reader"), "member": {"roles": [], "joined_at": "2026-01-01T00:00:00+00:00", "deaf": False, "mute": False, "flags": 0},
            "content": visible, "timestamp": "2026-01-01T00:00:00+00:00", "edited_timestamp": None,
            "tts": False, "mention_everyone": False, "mentions": [BOT_USER] if mentions_bot else [],
            "mention_roles": [], "attachments": [], "embeds": [], "pinned": False, "type": 0, "flags": 0,
            "components": [],
        }  # fmt: skip
        if replied is not None:
            message["type"] = 19
            message["message_reference"] = {
                "message_id": replied["id"], "channel_id": replied["channel_id"], "guild_id": GUILD_ID,
            }  # fmt: skip
            message["referenced_message"] = replied
        self.messages[message_id] = {**message, "content": content}
        await self.dispatch("MESSAGE_CREATE", message)
        return message_id

    def replies_to(self, token: str) -> list[Sent]:
        return [s for s in self.sent if s.route.endswith(token)]


def channel_of(guild_id: str) -> str:
    """The "news" channel of a server: the fixed one for the first, derived for the others."""
    return CHANNEL_ID if guild_id == GUILD_ID else str(int(guild_id) + 10)


def _member(u: dict[str, Any], roles: list[str]) -> dict[str, Any]:
    return {
        "user": u,
        "roles": roles,
        "joined_at": "2026-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
    }
