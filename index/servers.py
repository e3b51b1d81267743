"""Discord servers' own settings and sources, kept in the article store's SQLite file.

The config file gives the defaults and the global sources. A server's admins may override a
setting for the whole server, or for one channel where that makes sense (which sources a channel
answers from, its default ``since``), and may follow sources of their own. A server's questions are
answered from the global sources plus its own, never from another server's: the index keeps which
source brought each article, and a question carries the set its server may see.

A source is fetched and stored once however many servers follow it. When the bot leaves a server,
the server's settings and sources are kept for a grace period, so a kick by mistake costs nothing;
after it they are deleted, and the next reindex prunes articles no one follows any more.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, Field

from index.answer.question import parse_since
from index.errors import NewsbotError
from index.ingest.store import cannot_open, connect_shared
from index.models import SourceRef

DEFAULT_GRACE_DAYS = 7
_SCHEMA = """
CREATE TABLE IF NOT EXISTS servers (
    guild TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    joined_at TEXT NOT NULL,
    left_at TEXT
);
CREATE TABLE IF NOT EXISTS server_settings (
    guild TEXT NOT NULL REFERENCES servers(guild) ON DELETE CASCADE,
    channel TEXT NOT NULL,  -- '' for the whole server
    key TEXT NOT NULL,
    value TEXT NOT NULL,    -- JSON
    PRIMARY KEY (guild, channel, key)
);
CREATE TABLE IF NOT EXISTS server_sources (
    guild TEXT NOT NULL REFERENCES servers(guild) ON DELETE CASCADE,
    origin TEXT NOT NULL,
    kind TEXT NOT NULL,
    location TEXT NOT NULL,
    name TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (guild, origin)
);
CREATE TABLE IF NOT EXISTS server_reindexes (
    guild TEXT PRIMARY KEY REFERENCES servers(guild) ON DELETE CASCADE,
    at TEXT NOT NULL
);
"""


class ServerError(NewsbotError):
    """A server setting or source that cannot be saved, with the reason in words."""


@dataclass(frozen=True)
class SettingKind:
    """One setting a server may override: where it may be set, and how a typed value reads."""

    description: str
    per_channel: bool
    parse: Callable[[str], object]
    show: Callable[[object], str]


def _channel_ids(text: str) -> list[int]:
    ids = []
    for part in text.replace(",", " ").split():
        digits = part.strip("<#>")
        if not digits.isdigit():
            raise ServerError(
                f"'{part}' is not a channel; mention channels (#news) or give their ids."
            )
        ids.append(int(digits))
    return ids


def _role_ids(text: str) -> list[int]:
    ids = []
    for part in text.replace(",", " ").split():
        digits = part.strip("<@&>")
        if not digits.isdigit():
            raise ServerError(f"'{part}' is not a role; mention roles (@mods) or give their ids.")
        ids.append(int(digits))
    return ids


def _seconds(text: str) -> float:
    try:
        value = float(text.strip().removesuffix("s"))
    except ValueError:
        raise ServerError(f"'{text}' is not a number of seconds, such as 10.") from None
    if not 0 <= value <= 3600:
        raise ServerError("The cooldown must be between 0 and 3600 seconds.")
    return value


def _since(text: str) -> str:
    parse_since(text)  # raises the user's error for a bad one
    return text.strip()


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ServerError("Name at least one source, or reset the setting to answer from all.")
    return names


SETTINGS: dict[str, SettingKind] = {
    "answer_channels": SettingKind(
        "channels where every question is answered without a mention",
        False,
        _channel_ids,
        lambda v: ", ".join(f"<#{c}>" for c in v) or "none",  # type: ignore[attr-defined]
    ),
    "cooldown": SettingKind(
        "seconds a member waits between questions", False, _seconds, lambda v: f"{v:g} s"
    ),
    "admin_roles": SettingKind(
        "roles that may run admin commands, besides Manage Server",
        False,
        _role_ids,
        lambda v: ", ".join(f"<@&{r}>" for r in v) or "none",  # type: ignore[attr-defined]
    ),
    "sources": SettingKind(
        "the sources a channel answers from (names from /sources list), comma-separated",
        True,
        _names,
        lambda v: ", ".join(v),  # type: ignore[arg-type]
    ),
    "since": SettingKind(
        "how far back questions look by default: 7d, 24h, 2w or a date",
        True,
        _since,
        str,
    ),
}


class Setting(BaseModel):
    key: str
    value: object
    shown: str
    where: str = Field(description="'config file', 'server' or 'this channel'")


class ServerSource(BaseModel):
    guild: int
    ref: SourceRef
    name: str
    added_at: datetime


class ServerInfo(BaseModel):
    guild: int
    name: str
    joined_at: datetime
    left_at: datetime | None
    sources: list[ServerSource]


def source_name(ref: SourceRef) -> str:
    """The short name admins use for a source: its outlet name, or its site."""
    if ref.name:
        return ref.name
    rest = ref.location.partition("://")[2] or ref.location
    return rest.split("/", 1)[0].lower().removeprefix("www.") or ref.location


class ServerDirectory:
    """Thread-safe: one connection behind a lock (settings change rarely)."""

    def __init__(self, path: Path, grace_days: float = DEFAULT_GRACE_DAYS) -> None:
        self.path = path
        self.grace = timedelta(days=grace_days)
        self._lock = threading.Lock()
        try:
            self._db = connect_shared(path, _SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ServerError(cannot_open(path, exc)) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _known(self, guild: int) -> None:
        """A row for ``guild`` before anything hangs off it (its name comes with ``joined``)."""
        self._db.execute(
            "INSERT OR IGNORE INTO servers VALUES (?, '', ?, NULL)",
            (str(guild), datetime.now(UTC).isoformat()),
        )

    # ----- membership -------------------------------------------------------------------------

    def joined(self, guild: int, name: str, now: datetime | None = None) -> None:
        """The bot is in ``guild``: a new server, or one back within its grace period (whose
        settings and sources are kept)."""
        self.joined_all([(guild, name)], now)

    def joined_all(self, guilds: list[tuple[int, str]], now: datetime | None = None) -> None:
        """``joined`` for every server the bot is in at start, in one transaction."""
        at = (now or datetime.now(UTC)).isoformat()
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO servers VALUES (?,?,?,NULL) ON CONFLICT(guild) DO UPDATE SET"
                " name=excluded.name, left_at=NULL",
                [(str(guild), name, at) for guild, name in guilds],
            )
            self._db.execute("COMMIT")

    def left(self, guild: int, now: datetime | None = None) -> None:
        at = (now or datetime.now(UTC)).isoformat()
        self._run("UPDATE servers SET left_at=? WHERE guild=?", (at, str(guild)))

    def purge_departed(self, now: datetime | None = None) -> list[int]:
        """Delete the settings and sources of servers the bot left more than the grace period
        ago; the next reindex prunes articles no one follows any more."""
        cutoff = ((now or datetime.now(UTC)) - self.grace).isoformat()
        with self._lock:
            gone = [
                int(g)
                for (g,) in self._db.execute(
                    "SELECT guild FROM servers WHERE left_at IS NOT NULL AND left_at < ?",
                    (cutoff,),
                )
            ]
            self._db.executemany("DELETE FROM servers WHERE guild=?", [(str(g),) for g in gone])
        return gone

    def servers(self) -> list[ServerInfo]:
        rows = self._run("SELECT guild, name, joined_at, left_at FROM servers ORDER BY name, guild")
        return [
            ServerInfo(
                guild=int(str(g)),
                name=str(n),
                joined_at=datetime.fromisoformat(str(j)),
                left_at=datetime.fromisoformat(str(left)) if left else None,
                sources=self.sources(int(str(g))),
            )
            for g, n, j, left in rows
        ]

    # ----- sources ----------------------------------------------------------------------------

    def sources(self, guild: int) -> list[ServerSource]:
        rows = self._run(
            "SELECT kind, location, name, added_at FROM server_sources WHERE guild=? ORDER BY name",
            (str(guild),),
        )
        return [
            ServerSource(
                guild=guild,
                ref=SourceRef(kind=str(k), location=str(loc)),  # type: ignore[arg-type]
                name=str(n),
                added_at=datetime.fromisoformat(str(at)),
            )
            for k, loc, n, at in rows
        ]

    def followed(self) -> list[SourceRef]:
        """Every source some server follows, once each, however many servers follow it."""
        rows = self._run(
            "SELECT DISTINCT kind, location FROM server_sources s JOIN servers v"
            " ON v.guild=s.guild ORDER BY location"
        )
        return [SourceRef(kind=str(k), location=str(loc)) for k, loc in rows]  # type: ignore[arg-type]

    def add_source(
        self, guild: int, ref: SourceRef, limit: int, now: datetime | None = None
    ) -> ServerSource:
        """Follow ``ref`` for ``guild`` (already validated by the caller), within its quota."""
        name = source_name(ref)
        with self._lock:
            self._known(guild)
            held = self._db.execute(
                "SELECT origin, name FROM server_sources WHERE guild=?", (str(guild),)
            ).fetchall()
            if any(origin == ref.origin for origin, _ in held):
                raise ServerError(f"This server already follows {ref.location}.")
            if len(held) >= limit:
                raise ServerError(
                    f"This server follows {len(held)} sources, its limit; remove one with "
                    "/sources remove first."
                )
            taken = {n for _, n in held}
            unique, n = name, 2
            while unique in taken:  # two feeds of one site: "example.com", "example.com 2"
                unique, n = f"{name} {n}", n + 1
            at = now or datetime.now(UTC)
            self._db.execute(
                "INSERT INTO server_sources VALUES (?,?,?,?,?,?)",
                (str(guild), ref.origin, ref.kind, ref.location, unique, at.isoformat()),
            )
        return ServerSource(guild=guild, ref=ref, name=unique, added_at=at)

    def remove_source(self, guild: int, which: str) -> ServerSource:
        """Stop following a source, named as /sources list shows it, or by its URL."""
        for source in self.sources(guild):
            if which.strip() in (source.name, source.ref.location):
                self._run(
                    "DELETE FROM server_sources WHERE guild=? AND origin=?",
                    (str(guild), source.ref.origin),
                )
                return source
        raise ServerError(
            f"This server follows no source named {which}; /sources list shows their names."
        )

    # ----- settings ---------------------------------------------------------------------------

    def set(self, guild: int, channel: int | None, key: str, text: str) -> Setting:
        """Override ``key`` for the server, or for one channel where the setting allows it."""
        kind = SETTINGS.get(key)
        if kind is None:
            raise ServerError(f"There is no setting {key}; choose one of {', '.join(SETTINGS)}.")
        if channel is not None and not kind.per_channel:
            raise ServerError(f"{key} is set for the whole server, not for one channel.")
        value = kind.parse(text)
        with self._lock:
            self._known(guild)
        self._run(
            "INSERT INTO server_settings VALUES (?,?,?,?) ON CONFLICT(guild, channel, key)"
            " DO UPDATE SET value=excluded.value",
            (str(guild), str(channel or ""), key, json.dumps(value)),
        )
        where = "this channel" if channel is not None else "server"
        return Setting(key=key, value=value, shown=kind.show(value), where=where)

    def reset(self, guild: int, channel: int | None, key: str) -> None:
        self._run(
            "DELETE FROM server_settings WHERE guild=? AND channel=? AND key=?",
            (str(guild), str(channel or ""), key),
        )

    def effective(
        self, guild: int, channel: int | None, defaults: dict[str, object]
    ) -> dict[str, Setting]:
        """Every setting as it applies in ``channel``: the channel's own value, else the
        server's, else the config file's, each with where it comes from."""
        rows = self._run(
            "SELECT channel, key, value FROM server_settings WHERE guild=? AND channel IN (?, '')",
            (str(guild), str(channel or "")),
        )
        server = {str(k): json.loads(str(v)) for c, k, v in rows if c == ""}
        own = {str(k): json.loads(str(v)) for c, k, v in rows if c != "" and channel}
        found: dict[str, Setting] = {}
        for key, kind in SETTINGS.items():
            if key in own:
                value, where = own[key], "this channel"
            elif key in server:
                value, where = server[key], "server"
            else:
                value, where = defaults.get(key), "config file"
            shown = kind.show(value) if value is not None else "not set"
            found[key] = Setting(key=key, value=value, shown=shown, where=where)
        return found

    # ----- reindex cooldown -------------------------------------------------------------------

    def reindex_wait(self, guild: int, cooldown: timedelta, now: datetime | None = None) -> float:
        """Seconds until ``guild`` may refresh again (0 now), and the refresh is recorded when
        it may: one server cannot make the bot refetch its sources without pause."""
        now = now or datetime.now(UTC)
        with self._lock:
            self._known(guild)
            row = self._db.execute(
                "SELECT at FROM server_reindexes WHERE guild=?", (str(guild),)
            ).fetchone()
            if row is not None:
                wait = (datetime.fromisoformat(row[0]) + cooldown - now).total_seconds()
                if wait > 0:
                    return wait
            self._db.execute(
                "INSERT INTO server_reindexes VALUES (?,?) ON CONFLICT(guild)"
                " DO UPDATE SET at=excluded.at",
                (str(guild), now.isoformat()),
            )
        return 0.0


def source_names(global_sources: list[SourceRef], own: list[ServerSource]) -> dict[str, str]:
    """Every name a server may call one of its sources by (name, or location), to its origin."""
    named = {(s.name or s.location): s.origin for s in global_sources}
    named.update({s.location: s.origin for s in global_sources})
    named.update({s.name: s.ref.origin for s in own})
    named.update({s.ref.location: s.ref.origin for s in own})
    return named


def view_of(
    global_sources: list[SourceRef],
    own: list[ServerSource],
    chosen: list[str] | None = None,
) -> frozenset[str]:
    """The origins a channel's questions may see: the global sources and the server's own, or
    only the ``chosen`` ones among them (by name or location)."""
    named = source_names(global_sources, own)
    if chosen is None:
        return frozenset(named.values())
    return frozenset(named[n] for n in chosen if n in named)
