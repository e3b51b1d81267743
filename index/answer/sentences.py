"""Sentence splitting for news prose, good enough for abbreviations, initials and quotes."""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof st jr sr gen sen rep gov lt col sgt capt cmdr adm maj pres rev hon
    inc corp co ltd llc bros vs etc al approx dept est fig no nos vol
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thurs fri sat sun
    u.s u.k u.n e.u d.c a.m p.m i.e e.g
    """.split()
)
# A boundary: terminal punctuation, optional closing quotes/brackets, space, then something that
# can start a sentence (a capital, a digit or an opening quote).
# (The punctuation is matched, not looked behind for: a lookbehind is tried at every character.)
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_LAST_WORD = re.compile(r"([\w.]+)[.!?]?[\"'”’)\]]*$")


def split_sentences(text: str) -> list[str]:
    """Split text into sentences; paragraph breaks always end a sentence."""
    sentences: list[str] = []
    for paragraph in PARAGRAPH_BREAK.split(text):
        paragraph = " ".join(paragraph.split())
        if paragraph:
            sentences.extend(split_paragraph(paragraph))
    return sentences


def split_paragraph(paragraph: str) -> list[str]:
    """``split_sentences`` for one paragraph whose whitespace is already collapsed."""
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        after_mark = match.start() + 1
        candidate = paragraph[start:after_mark]
        if _ends_with_abbreviation(candidate):
            continue
        end = after_mark + len(match.group()[1:].rstrip())
        pieces.append(paragraph[start:end].strip())
        start = match.end()
    pieces.append(paragraph[start:].strip())
    return [p for p in pieces if p]


def _ends_with_abbreviation(text: str) -> bool:
    if not text.endswith("."):
        return False
    # Only the last word: searching the whole text at every boundary is quadratic in the
    # paragraph's length.
    match = _LAST_WORD.search(text.rsplit(None, 1)[-1])
    if not match:
        return False
    word = match.group(1).rstrip(".").lower()
    # A lone capital letter is an initial ("John F. Kennedy"), not the end of a sentence.
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())
