"""A question's words as the index knows them: concepts with alternatives, typos and plurals mended.

People type "gpus", "teslla", "CEO" or "ECB" where articles say "GPUs", "Tesla", "chief executive"
and "European Central Bank". Each word of a question becomes a ``Concept``: one or more
alternatives, each a group of index terms that must all be present to count as that word. An
alternative comes from

- the word itself, when the index holds it;
- the index's own vocabulary, when it does not: a plural ("gpus" -> "gpu") or one typo away
  ("teslla" -> "tesla", the most common such term), reported as a ``Correction``;
- an irregular verb's other forms ("say" also finds "said");
- an alias: the maintained table below, and acronyms the articles define themselves
  ("European Central Bank (ECB)"), in both directions.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from functools import lru_cache

from pydantic import BaseModel, ConfigDict
from spellchecker import SpellChecker

from index.models import Correction
from index.search.analyzer import Analyzer
from index.search.inflections import other_forms
from index.search.stopwords import VAGUE

_WORD = re.compile(r"\w+(?:[.,'’\-]\w+)*")
# Typos are mended only in words this long: shorter ones have too many neighbours.
MIN_TYPO_LENGTH = 5
_LETTERS = string.ascii_lowercase

# Common abbreviations news readers type and articles spell out (or the other way round).
ALIASES: dict[str, tuple[str, ...]] = {
    "ceo": ("chief executive", "chief executive officer"),
    "cfo": ("chief financial officer",),
    "coo": ("chief operating officer",),
    "cto": ("chief technology officer",),
    "usa": ("united states",),
    "uk": ("united kingdom", "britain"),
    "eu": ("european union",),
    "un": ("united nations",),
    "ai": ("artificial intelligence",),
    "agi": ("general intelligence", "artificial general intelligence"),
    "vr": ("virtual reality",),
    "ev": ("electric vehicle",),
    "evs": ("electric vehicles",),
    "gdp": ("gross domestic product",),
    "nyc": ("new york city",),
    "fed": ("federal reserve",),
    "ipo": ("initial public offering",),
    "gpu": ("graphics processing unit",),
    # Institutions news names by their initials.
    "ecb": ("european central bank",),
    "boe": ("bank of england",),
    "imf": ("international monetary fund",),
    "faa": ("federal aviation administration",),
    "fda": ("food and drug administration",),
    "sec": ("securities and exchange commission",),
    "nato": ("north atlantic treaty organization",),
    "opec": ("organization of the petroleum exporting countries",),
    "jaxa": ("japan aerospace exploration agency",),
    "esa": ("european space agency",),
    "who": ("world health organization",),  # only as an upper-case "WHO", see below
}
# Alias keys that are also ordinary words: they are aliases only when typed in capitals. ("US" is
# not here: "us" is a stopword, and spelling it out as "United States" cost answers on rtqa-dev,
# where articles write "US".)
_CAPITALS_ONLY = frozenset({"who", "fed", "un"})


class AliasTable:
    """Short forms and long forms, analyzed once per index: the maintained table above and the
    acronyms the index learned (``acronyms.py``)."""

    def __init__(self, analyzer: Analyzer, learned: Mapping[str, str] | None = None) -> None:
        self.expansions: dict[str, list[tuple[str, ...]]] = {}
        # The long forms by their first term, for spotting them typed out in a question.
        self.longs: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
        pairs = [(s, e) for s, es in ALIASES.items() for e in es]
        pairs += [(s, e) for s, e in (learned or {}).items()]
        for short, long in pairs:
            terms = tuple(analyzer.terms(long))
            if not terms:
                continue
            self.expansions.setdefault(short, [])
            if terms not in self.expansions[short]:
                self.expansions[short].append(terms)
            if len(terms) > 1:
                short_terms = tuple(analyzer.terms(short)) or (short,)
                self.longs.setdefault(terms[0], []).append((terms, short_terms))
        for options in self.longs.values():
            options.sort(key=lambda pair: -len(pair[0]))

    def for_word(self, word: str) -> list[tuple[str, ...]]:
        key = word.lower().replace(".", "").removesuffix("'s").removesuffix("’s")
        if key in _CAPITALS_ONLY and not word.replace(".", "").removesuffix("'s").isupper():
            return []
        return self.expansions.get(key, [])


class Concept(BaseModel):
    """One word of the question, and the groups of index terms that stand for it."""

    model_config = ConfigDict(frozen=True)

    word: str
    alternatives: tuple[tuple[str, ...], ...]

    @property
    def terms(self) -> set[str]:
        return {t for alt in self.alternatives for t in alt}

    def held_by(self, terms: set[str]) -> bool:
        return any(all(t in terms for t in alt) for alt in self.alternatives)


class Query(BaseModel):
    concepts: list[Concept]
    corrections: list[Correction] = []

    @property
    def terms(self) -> list[str]:
        """Every index term of every alternative, for retrieval."""
        return list(dict.fromkeys(t for c in self.concepts for alt in c.alternatives for t in alt))


def build_query(
    text: str,
    analyzer: Analyzer,
    vocab: Mapping[str, int],
    doc_freq: Sequence[int] | None = None,
    aliases: AliasTable | None = None,
) -> Query:
    """The concepts of ``text``, mended against ``vocab`` (with ``doc_freq`` to pick typo fixes)."""
    aliases = aliases or AliasTable(analyzer)
    concepts: list[Concept] = []
    corrections: list[Correction] = []
    for match in _WORD.finditer(text):
        word = match.group()
        if word.lower() in VAGUE:
            continue
        for term in analyzer.terms(word):
            alternatives = [(term,)]
            if term not in vocab and not any(ch.isdigit() for ch in term):
                fixed = _mend(word, term, analyzer, vocab, doc_freq)
                if fixed == DROP:
                    continue
                if fixed is not None:
                    alternatives = [(fixed,)]
                    if fixed != term.removesuffix("s"):
                        corrections.append(Correction(typed=word, read=fixed))
            forms = [tuple(analyzer.terms(f)) for f in other_forms(word)]
            for terms in [*forms, *aliases.for_word(word)]:
                if terms and terms not in alternatives:
                    alternatives.append(terms)
            concepts.append(Concept(word=word, alternatives=tuple(alternatives)))
    return Query(concepts=_join_spelled_out(concepts, aliases), corrections=corrections)


def _join_spelled_out(concepts: list[Concept], aliases: AliasTable) -> list[Concept]:
    """ "chief executive" in a question also finds "CEO": the words of an alias's long form,
    typed in a row, become one concept whose alternatives include the short form."""
    joined: list[Concept] = []
    i = 0
    while i < len(concepts):
        first = concepts[i].alternatives[0]
        for terms, short_terms in aliases.longs.get(first[0], []) if len(first) == 1 else []:
            n = len(terms)
            window = concepts[i : i + n]
            if len(window) == n and all(
                (t,) in c.alternatives for t, c in zip(terms, window, strict=True)
            ):
                words = " ".join(c.word for c in window)
                joined.append(Concept(word=words, alternatives=(terms, short_terms)))
                i += n
                break
        else:
            joined.append(concepts[i])
            i += 1
    return joined


DROP = ""  # what ``_mend`` returns for a typo of a word too common to search ("hvae")


def _mend(
    word: str,
    term: str,
    analyzer: Analyzer,
    vocab: Mapping[str, int],
    doc_freq: Sequence[int] | None,
) -> str | None:
    """The index term an unknown ``term`` (typed as ``word``) most likely stands for: its
    singular, the English word it misspells, or a name one edit away in the index's vocabulary.
    None leaves it as typed; ``DROP`` means it was a misspelt common word such as "have"."""
    if term.endswith("s") and term[:-1] in vocab:
        return term[:-1]
    capitalised = word[:1].isupper()
    word = word.lower()
    if len(word) < MIN_TYPO_LENGTH - 1 or not word.isalpha():
        return None
    english = _english()
    if word in english:
        return None  # a real word the index does not hold ("place"): not a typo
    # A capitalised unknown word is a name the dictionary cannot know: it is never "corrected"
    # into an English word ("Maris" is not "marks").
    fixed = None if capitalised else english.correction(word)
    if fixed and fixed != word:
        terms = analyzer.terms(fixed)
        if not terms:
            return DROP
        if len(terms) == 1 and terms[0] in vocab:
            return terms[0]
    if len(term) < MIN_TYPO_LENGTH:
        return None
    found = [c for c in _one_edit(term) if c in vocab]
    if not found:
        return None
    if doc_freq is None:
        return min(found)
    return max(found, key=lambda c: (doc_freq[vocab[c]], c))


@lru_cache(maxsize=1)
def _english() -> SpellChecker:
    """English words and their frequencies (pyspellchecker's list), loaded on first need: it
    tells a typo ("retrun") from a real word the index happens not to hold ("place")."""
    return SpellChecker(language="en", distance=1)


def _one_edit(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    inserts = {a + c + b for a, b in splits for c in _LETTERS}
    return (deletes | swaps | replaces | inserts) - {word}
