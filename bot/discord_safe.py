"""Making third-party text inert before it reaches Discord.

Titles, sentences, outlet names, authors, URLs and feed errors all come from someone else. Discord
renders markdown in embeds: masked links (``[Claim your prize](https://evil.example)``), headings,
lists, block quotes, spoilers, code, custom emoji, timestamps and mentions. ``inert`` turns any
such text into plain characters on one line; ``link_url`` decides whether a URL may be shown as a
link at all. Only the bot's own formatting (bold, its own ``<url>`` links) is live in a message.

Mentions are also disabled on the client (``AllowedMentions.none()``), so even a slip pings no one;
escaping keeps the mention from being shown as one too.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from index.ingest.clean import strip_controls

ELLIPSIS = "…"
# Characters Discord's markdown reacts to anywhere in a line: bold, italics, underline, strike,
# spoilers, code, masked links ("[text](url)") and angle-bracket syntax (mentions "<@…>", roles
# "<@&…>", channels "<#…>", custom emoji "<:name:id>", timestamps "<t:…>"). Discord shows a
# backslash before punctuation as the character itself, so escaping costs the reader nothing.
_ALWAYS = re.compile(r"([\\*_~|`\[\]<])")
# A scheme's "://" is broken so that "https://…" in text is not auto-linked.
_AUTOLINK = re.compile(r":(?=//)")
# Markers that only count at the start of a line: headings, quotes, lists, subtext.
# (A digit cannot be escaped, so "1." becomes "1\.".)
_LINE_START = re.compile(r"^(\s*)(?:([#>+\-])|(\d+)([.)]))")
_BREAKS = re.compile(r"[\r\n\u0085\u2028\u2029\v\f]+")
_MENTION_WORDS = re.compile(r"@(everyone|here)", re.IGNORECASE)
_URL_FORBIDDEN = re.compile(r"[\s<>\"'`|\\\[\]{}^*~]")
MAX_URL_CHARS = 512


def inert(
    text: str, limit: int | None = None, *, line_start: bool = True, strip: bool = True
) -> str:
    """``text`` on one line, with every markdown and mention character escaped.

    ``line_start`` False is for text placed after something else on its line, where "1." or "#"
    mean nothing; ``strip`` False keeps the spaces at its edges. With ``limit``, the result
    (escapes and ellipsis included) is cut at a word boundary to fit, never inside an escape, so a
    cut cannot turn the bot's own markup that follows into text.
    """
    flat = _BREAKS.sub(" ", strip_controls(str(text)))
    flat = flat.strip() if strip else flat
    flat = _MENTION_WORDS.sub("@\u200b\\1", flat)  # the zero-width space breaks the mention word
    escaped = _AUTOLINK.sub(r"\\:", _ALWAYS.sub(r"\\\1", flat))
    if line_start:
        escaped = _LINE_START.sub(_escape_marker, escaped)
    return clip_escaped(escaped, limit) if limit is not None else escaped


def _escape_marker(match: re.Match[str]) -> str:
    space, marker, number, dot = match.groups()
    return space + ("\\" + marker if marker else number + "\\" + dot)


def clip_escaped(text: str, limit: int) -> str:
    """Cut escaped text to ``limit`` characters at a word boundary, never leaving a lone backslash."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ""
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:  # an escape cut in half would escape whatever comes next
        cut = cut[:-1]
    return cut.rstrip() + ELLIPSIS


def link_url(url: str | None) -> str | None:
    """The URL if it is safe to show as a link: plain http(s), a host, nothing markdown can use."""
    if not url:
        return None
    url = url.strip()
    if len(url) > MAX_URL_CHARS or _URL_FORBIDDEN.search(url) or strip_controls(url) != url:
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname or "@" in parts.netloc:
        return None
    if ")" in url or "(" in url:
        return None  # would close the bot's own masked link early
    return url
