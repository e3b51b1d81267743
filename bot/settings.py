"""Settings: one TOML file, validated by pydantic, loaded once at the entry point and passed down."""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from index.answer.answerer import AnswerConfig
from index.answer.journal import DEFAULT_RETENTION_DAYS
from index.errors import NewsbotError
from index.ingest.chunking import ChunkingConfig
from index.ingest.fetch import FetchConfig
from index.ingest.reindex import RefreshProgress, ReindexReport, reindex
from index.models import SourceRef
from index.search.bm25 import BM25Params
from index.search.searcher import SearchConfig
from index.servers import ServerDirectory

CONFIG_ENV = "NEWSBOT_CONFIG"
LOCAL_CONFIG = Path("newsbot.toml")


class ConfigError(NewsbotError):
    """The config file is missing, is not TOML, or holds a bad setting."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceSettings(_Section):
    """One ``[[sources]]`` entry: exactly one of a local path, a feed URL or an article URL."""

    path: Path | None = None
    feed: str | None = None
    url: str | None = None
    name: str | None = Field(
        default=None, description="outlet name to show when the source has none"
    )

    def ref(self) -> SourceRef:
        if self.path is not None:
            return SourceRef(kind="path", location=str(self.path), name=self.name)
        if self.feed is not None:
            return SourceRef(kind="feed", location=self.feed, name=self.name)
        return SourceRef(kind="url", location=str(self.url), name=self.name)

    @field_validator("feed", "url")
    @classmethod
    def _http_only(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value.strip()).scheme not in {"http", "https"}:
            raise ValueError("must be an http:// or https:// URL")
        return value.strip() if value else value

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [k for k in ("path", "feed", "url") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("each [[sources]] entry needs exactly one of path, feed or url")
        return self


class IndexSettings(_Section):
    path: Path = Field(default_factory=lambda: default_data_dir() / "index")


class StoreSettings(_Section):
    path: Path | None = Field(
        default=None, description="SQLite article store; default: beside the index"
    )
    retention_days: int = Field(
        default=0, ge=0, description="drop articles older than this; 0 keeps everything"
    )


class RefreshSettings(_Section):
    every_minutes: float = Field(
        default=30, ge=0, description="scheduled refresh in the bot; 0 turns it off"
    )
    stale_after_hours: float = Field(
        default=24, gt=0, description="`newsbot status` fails when the index is older than this"
    )


class DiscordSettings(_Section):
    token_env: str = Field(
        default="DISCORD_TOKEN", description="environment variable holding the token"
    )
    guild_ids: list[int] = Field(
        default_factory=list, description="sync commands to these guilds only"
    )
    admin_role_ids: list[int] = Field(default_factory=list, description="roles allowed to /reindex")
    answer_channels: list[int] = Field(
        default_factory=list, description="channels where every message is a question"
    )
    cooldown_seconds: float = Field(
        default=10.0, ge=0, description="per-user pause between questions"
    )
    shard_count: int | None = Field(
        default=None, ge=1, le=4096, description="total shards, for bots in very many servers"
    )
    shard_id: int | None = Field(
        default=None, ge=0, description="the shard this process serves (one process per shard)"
    )

    @model_validator(mode="after")
    def _one_shard_per_process(self) -> DiscordSettings:
        if (self.shard_count is None) != (self.shard_id is None):
            raise ValueError("set shard_count and shard_id together, or neither")
        if (
            self.shard_count is not None
            and self.shard_id is not None
            and self.shard_id >= self.shard_count
        ):
            raise ValueError(f"shard_id must be below shard_count ({self.shard_count})")
        return self


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="what the bot logs: one line per question and reindex at INFO"
    )
    format: Literal["text", "json"] = Field(
        default="text", description="text lines, or one JSON object a line for log collectors"
    )


class ServersSettings(_Section):
    """What each Discord server's admins may do from Discord, and its limits."""

    max_sources: int = Field(
        default=20, ge=0, le=1000, description="sources one server may add with /sources add"
    )
    articles_per_source: int = Field(
        default=500, ge=1, le=100_000, description="newest articles kept of a server's source"
    )
    min_refresh_minutes: float = Field(
        default=15, ge=0, description="a server's /reindex fetches a source at most this often"
    )
    reindex_cooldown_minutes: float = Field(
        default=15, ge=0, description="pause between two /reindex runs of one server"
    )
    grace_days: float = Field(
        default=7,
        ge=0,
        description="days a server's settings and sources are kept after the bot leaves it",
    )


class FeedbackSettings(_Section):
    retention_days: int = Field(
        default=DEFAULT_RETENTION_DAYS,
        ge=1,
        le=3650,
        description="days the answer journal keeps questions, answers and votes",
    )


class Settings(_Section):
    index: IndexSettings = Field(default_factory=IndexSettings)
    sources: list[SourceSettings] = Field(default_factory=list)
    store: StoreSettings = Field(default_factory=StoreSettings)
    fetch: FetchConfig = Field(default_factory=FetchConfig)
    refresh: RefreshSettings = Field(default_factory=RefreshSettings)
    chunking: ChunkingConfig = Field(default_factory=ChunkingConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    bm25: BM25Params = Field(default_factory=BM25Params)
    answer: AnswerConfig = Field(default_factory=AnswerConfig)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)
    servers: ServersSettings = Field(default_factory=ServersSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    def source_refs(self) -> list[SourceRef]:
        """The sources to index; the bundled sample news when none is configured."""
        if not self.sources:
            return [SourceRef(kind="path", location=str(sample_news_dir()))]
        return [s.ref() for s in self.sources]

    @property
    def store_path(self) -> Path:
        index = self.index.path
        return self.store.path or index.with_name(index.name + ".articles.sqlite3")


def load_settings(config: Path | None = None, index: Path | None = None) -> Settings:
    """Read settings from ``config``, else $NEWSBOT_CONFIG, else ./newsbot.toml, else defaults."""
    path = config or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    if path is None and LOCAL_CONFIG.is_file():
        path = LOCAL_CONFIG
    data = _read_toml(path) if path else {}
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
    base = path.parent if path else Path.cwd()
    settings.index.path = _resolve(settings.index.path, base)
    for source in settings.sources:
        if source.path is not None:
            source.path = _resolve(source.path, base)
    if settings.store.path is not None:
        settings.store.path = _resolve(settings.store.path, base)
    if index is not None:
        settings.index.path = index.expanduser().resolve()
    return settings


def default_data_dir() -> Path:
    root = os.environ.get("NEWSBOT_HOME")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share") / "newsbot"


def sample_news_dir() -> Path:
    return Path(str(resources.files("bot") / "sample_news"))


def _read_toml(path: Path) -> dict[str, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"The config file {path} does not exist; check the path or copy config.example.toml to start one."
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            f"The config file {path} is a folder; give the path of a .toml file instead."
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"The config file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8."
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"The config file {path} cannot be read ({exc.strerror or exc}); check its permissions."
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The config file {path} is not valid TOML: {exc}.") from None


def _describe(exc: ValidationError, path: Path | None) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "is not a known setting (see config.example.toml for the settings there are)"
    elif "input" in error and not isinstance(error["input"], dict | list):
        message = f"{message} (got {error['input']!r})"
    origin = f"in {path}" if path else "in the defaults"
    return f"Bad setting {where} {origin}: {message}."


def _resolve(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return (path if path.is_absolute() else base / path).resolve()


def reindex_with(
    settings: Settings,
    progress: RefreshProgress | None = None,
    only: frozenset[str] | None = None,
) -> ReindexReport:
    """The reindex every front end runs: the configured sources, and those Discord servers
    follow (each once, capped), into the configured index; ``only`` narrows what is fetched."""
    configured = settings.source_refs()
    servers_own = servers_sources(settings)
    return reindex(
        configured + servers_own,
        settings.index.path,
        store_path=settings.store_path,
        chunking=settings.chunking,
        bm25=settings.bm25,
        fetch=settings.fetch,
        retention_days=settings.store.retention_days,
        progress=progress,
        only=only,
        caps={s.origin: settings.servers.articles_per_source for s in servers_own},
    )


def servers_sources(settings: Settings) -> list[SourceRef]:
    """The sources Discord servers follow that the config file does not list, once each."""
    if not settings.store_path.exists():
        return []
    directory = ServerDirectory(settings.store_path, settings.servers.grace_days)
    try:
        followed = directory.followed()
    finally:
        directory.close()
    known = {s.origin for s in settings.source_refs()}
    return [s for s in followed if s.origin not in known]


def all_sources(settings: Settings) -> list[SourceRef]:
    """Every source the index holds: the configured ones and those servers follow."""
    return settings.source_refs() + servers_sources(settings)
