"""robots.txt rules for article pages (RFC 9309), cached per site for a short time.

Feeds are subscribed to, so they are fetched whatever robots.txt says; the pages their entries
link to are crawled, so they honour it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

ROBOTS_AGENT = "newsbot"
# RFC 9309 asks crawlers to read at least 500 KiB of a robots.txt file.
ROBOTS_MAX_BYTES = 512 * 1024
# An unreachable robots.txt means "disallow everything", but only until the site is back.
UNREACHABLE_TTL = 60.0


@dataclass(frozen=True)
class RobotsRules:
    parser: RobotFileParser | None  # None: no rules, everything is allowed
    disallow_all: bool = False

    def allows(self, url: str) -> bool:
        if self.disallow_all:
            return False
        return self.parser is None or self.parser.can_fetch(ROBOTS_AGENT, url)

    def crawl_delay(self) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(ROBOTS_AGENT)
        return float(delay) if delay is not None else None


ALLOW_ALL = RobotsRules(parser=None)
DISALLOW_ALL = RobotsRules(parser=None, disallow_all=True)


def rules_from(status: int, body: bytes | None) -> RobotsRules:
    """RFC 9309, section 2.3.1: 2xx is parsed, 4xx allows all, anything else disallows all."""
    if body is not None and 200 <= status < 300:
        parser = RobotFileParser()
        parser.parse(body[:ROBOTS_MAX_BYTES].decode("utf-8", "replace").splitlines())
        return RobotsRules(parser=parser)
    if 400 <= status < 500:
        return ALLOW_ALL
    return DISALLOW_ALL


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


class RobotsCache:
    """Rules per site (scheme, host and port), each kept for ``ttl`` seconds."""

    def __init__(self) -> None:
        self._rules: dict[str, tuple[float, RobotsRules]] = {}

    def get(self, site: str) -> RobotsRules | None:
        entry = self._rules.get(site)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def clear(self) -> None:
        self._rules.clear()

    def put(self, site: str, rules: RobotsRules, ttl: float) -> None:
        if rules.disallow_all:
            ttl = min(ttl, UNREACHABLE_TTL)
        self._rules[site] = (time.monotonic() + ttl, rules)


# One cache per process: the bot refreshes every few minutes and need not re-read robots.txt.
SHARED_ROBOTS = RobotsCache()
