"""Text cleaning shared by every loader: Unicode normalised, whitespace collapsed, furniture dropped."""

from __future__ import annotations

import re
import unicodedata

# Lines that are page furniture rather than reporting. Matched against a whole short paragraph,
# never inside a sentence, so an article quoting "read more" keeps its text.
_FURNITURE = re.compile(
    r"""^(?:
        next\ story\ loading(?:\ loading)?\.*
      | advertisement | ad\ feedback | skip\ advertisement | story\ continues\ below.*
      | (?:read|see)\ more(?:\ (?:here|stories|news))?\.*
      | (?:share|tweet|email|print)(?:\ this(?:\ (?:article|story))?)?
      | (?:sign\ up|subscribe)\b.{0,80}(?:newsletter|inbox|here)\.?
      | follow\ us\ on\b.*
      | click\ here\b.*
      | related:?\ .{0,80}
      | (?:copyright\ )?©.*
      | all\ rights\ reserved\.?
      | (?:\d+\.\ )?how\ relevant\ is\ this\ ad\ to\ you\?
      | video\ player\ was\ slow\ to\ load\ content\b.*
      | this\ story\ is\ part\ of\b.{0,80}newsletter.*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_MAX_FURNITURE_CHARS = 240
# A regex, not str.translate: translate looks every character up in a dict, 40 times slower on
# the long articles of an archive.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# Terminal escape sequences (CSI "ESC [ … m", OSC "ESC ] … BEL", and two-byte ones) and every other
# control character but tab and newline: article text is printed to terminals and must not drive them.
_ESCAPES = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[^\S\n]+")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n+")


def normalize(text: str) -> str:
    """NFKC-normalise; drop invisible characters (zero-width spaces, soft hyphens, BOMs),
    terminal escape sequences and control characters other than tab, newline and return."""
    if not unicodedata.is_normalized("NFKC", text):  # the quick check saves a copy
        text = unicodedata.normalize("NFKC", text)
    return strip_controls(_INVISIBLE.sub("", text))


def strip_controls(text: str) -> str:
    """Text without terminal escape sequences or control characters (tab and newlines stay)."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def is_furniture(paragraph: str) -> bool:
    return len(paragraph) <= _MAX_FURNITURE_CHARS and bool(_FURNITURE.match(paragraph))


def clean_text(text: str) -> str:
    """Return the article body as paragraphs separated by one blank line, furniture removed.

    Single line breaks inside a paragraph become spaces: scraped text wraps lines anywhere.
    """
    text = normalize(text).replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = []
    for block in _PARAGRAPH_BREAK.split(text):
        for line in _split_furniture_lines(block):
            line = " ".join(line.split())  # every run of whitespace, newlines too, as one space
            if line and not is_furniture(line):
                paragraphs.append(line)
    return "\n\n".join(paragraphs)


def clean_line(text: str) -> str:
    """Clean a one-line field such as a title or an outlet name."""
    return _SPACES.sub(" ", normalize(text).replace("\n", " ")).strip()


def _split_furniture_lines(block: str) -> list[str]:
    # A furniture line glued to a paragraph by a single newline must still go, so test each line;
    # lines that are not furniture are rejoined into their paragraph.
    lines = block.split("\n")
    if len(lines) == 1:
        return lines
    kept: list[str] = []
    current: list[str] = []
    for line in lines:
        if is_furniture(line.strip()):
            if current:
                kept.append(" ".join(current))
                current = []
        else:
            current.append(line)
    if current:
        kept.append(" ".join(current))
    return kept


# Wire-style datelines that open an article: "(Reuters) -", "WASHINGTON (AP) —",
# "New York CNN Business —". Removed only when they name the article's own outlet, so an opening
# such as "Apple (AAPL) shares rose" is left alone.
_DATELINE = re.compile(
    r"^(?P<place>[^()—–\n]{0,60}?)\s*(?:\((?P<paren>[^()]{1,40})\)\s*(?:[—–-]{1,2}\s*)?|\s+[—–]\s+)"
)


def strip_dateline(text: str, outlet: str) -> str:
    key = outlet_key(outlet)
    match = _DATELINE.match(text)
    if not key or not match:
        return text
    words = match.group("place").split()
    if any(w[0].islower() for w in words if w[0].isalpha()):
        return text  # a sentence, not a place name
    if match.group("paren") is not None:
        named = [match.group("paren")]
    else:  # no brackets: the outlet is the last one to three words before the dash
        named = [" ".join(words[-n:]) for n in (1, 2, 3) if len(words) >= n]
    if any(outlet_key(name).startswith(key) for name in named):
        return text[match.end() :]
    return text


def outlet_key(outlet: str) -> str:
    """ "cnn.com" -> "cnn", "The Verge" -> "theverge": how an outlet names itself in a dateline."""
    name = outlet.lower().strip().removeprefix("www.")
    if "." in name and " " not in name:
        name = name.split(".")[0]
    return re.sub(r"[^a-z0-9]", "", name)


_TITLE_SUFFIX = re.compile(r"\s+[|\-–—:]\s+([^|\-–—:]{1,40})$")


def strip_title_outlet(title: str, outlet: str) -> str:
    """ "Squid Game returns - CNN" -> "Squid Game returns": the outlet is cited on its own."""
    key = outlet_key(outlet)
    match = _TITLE_SUFFIX.search(title)
    if key and match and outlet_key(match.group(1)).startswith(key) and match.start() > 0:
        return title[: match.start()]
    return title
