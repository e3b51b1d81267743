"""Acronyms the articles define themselves: "the Federal Aviation Administration (FAA)".

Learned when the index is built and saved with it, so that a question's "FAA" also finds articles
that only spell the name out, and a question's "Japan Aerospace Exploration Agency" finds "JAXA".
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

# The cheap pass, in C over the raw bytes: only "(ABC)" spots are looked at more closely.
_DEFINED = re.compile(rb"\(([A-Z][A-Za-z]{1,5})\)")
_WORD = re.compile(r"[A-Za-z][\w'’&-]*")
# Small words that a name's initials skip: "Organization of the Petroleum Exporting Countries".
_SKIPPED = frozenset({"of", "the", "and", "for", "on", "in", "de", "du", "des", "la", "&"})
LOOK_BACK = 120  # bytes before "(" that can hold the name
MAX_ACRONYMS = 50_000


def learn_acronyms(texts: Iterable[bytes]) -> dict[str, str]:
    """{acronym in lower case: its most often written long form} over all ``texts``."""
    learner = AcronymLearner()
    for blob in texts:
        learner.add(blob)
    return learner.learned()


class AcronymLearner:
    """``learn_acronyms`` fed a text at a time: a build that writes its texts to disk as they
    come learns from them then, without reading them back."""

    def __init__(self) -> None:
        self._seen: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def add(self, blob: bytes) -> None:
        seen = self._seen
        if len(seen) > MAX_ACRONYMS:
            return
        for match in _DEFINED.finditer(blob):
            acronym = match.group(1).decode()
            if sum(c.isupper() for c in acronym) < 2:
                continue
            before = blob[max(0, match.start() - LOOK_BACK) : match.start()]
            name = _name_for(acronym, before.decode("utf-8", "ignore"))
            if name:
                seen[acronym.lower()][name] += 1

    def learned(self) -> dict[str, str]:
        return {acronym: names.most_common(1)[0][0] for acronym, names in self._seen.items()}


def _name_for(acronym: str, before: str) -> str | None:
    """The capitalised words just before "(ABC)" whose initials spell ABC, or None."""
    words = _WORD.findall(before)
    letters = [c for c in acronym.upper()]
    picked: list[str] = []
    for word in reversed(words):
        if not letters:
            break
        if word.lower() in _SKIPPED and picked:
            picked.append(word)
            continue
        if not word[:1].isupper() or word[0].upper() != letters[-1]:
            return None
        picked.append(word)
        letters.pop()
    while picked and picked[-1].lower() in _SKIPPED:
        picked.pop()
    return " ".join(reversed(picked)) if not letters and len(picked) > 1 else None
