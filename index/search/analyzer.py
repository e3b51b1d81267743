"""The analyzer: one object turns both passages and questions into index terms.

It is saved with the index (``AnalyzerConfig``), so a question is always analyzed exactly the way
the passages it is matched against were.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from functools import lru_cache
from itertools import chain
from typing import Literal

import Stemmer
from pydantic import BaseModel, ConfigDict

from index.search import stopwords

# Bump when the rules below change: an index analyzed by other rules must be rebuilt.
ANALYZER_VERSION = 1

# A word is letters/digits, optionally joined by . , ' - to its neighbours, so "600,000",
# "U.S.", "GPT-4" and "Meta's" each arrive as one piece and are split or kept below.
_WORD = re.compile(r"\w+(?:[.,'\-]\w+)*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_PLURAL_CODE = re.compile(r"[a-z][\w-]*\ds")
_PLURAL_ACRONYM = re.compile(r"[A-Z]{2,}s")
# Pieces of text (whitespace-separated) whose terms are kept: news is Zipfian, so the hot
# pieces come back at once after the cache is emptied, and the cap bounds each worker's memory.
_PIECE_CACHE_SIZE = 1_000_000
_APOSTROPHES = (("’", "'"), ("‘", "'"), ("ʼ", "'"), ("‐", "-"), ("‑", "-"))


def _plain_marks(text: str) -> str:
    """Curly apostrophes and Unicode hyphens as ASCII. Replacing each one only when present is
    a hundred times faster than ``str.translate`` on a long article, the hot path of indexing."""
    for mark, plain in _APOSTROPHES:
        if mark in text:
            text = text.replace(mark, plain)
    return text


class AnalyzerConfig(BaseModel):
    """Everything that decides how text becomes terms; stored in the index manifest."""

    model_config = ConfigDict(frozen=True)

    version: int = ANALYZER_VERSION
    language: Literal["english"] = "english"
    stem: bool = True
    stopwords: tuple[str, ...] = tuple(sorted(stopwords.DEFAULT))


class Term(BaseModel):
    """A term with the character span of the word it came from, for highlighting."""

    model_config = ConfigDict(frozen=True)

    term: str
    start: int
    end: int


class Analyzer:
    """Lower-cases and folds accents, drops stopwords, stems words, and keeps numbers whole.

    >>> Analyzer().terms("Meta will have almost 600,000 H100 GPUs in 2024.")
    ['meta', 'almost', '600000', 'h100', 'gpus', '2024']
    """

    def __init__(self, config: AnalyzerConfig | None = None) -> None:
        self.config = config or AnalyzerConfig()
        self._stopwords = frozenset(self.config.stopwords)
        stemmer = Stemmer.Stemmer(self.config.language) if self.config.stem else None
        self._stem = lru_cache(maxsize=200_000)(stemmer.stemWord if stemmer else _identity)
        # Two levels: a piece ("Meta's", "(Meta)") analyzed once, from its words ("Meta"),
        # each analyzed once; folding and stemming a word is the expensive part.
        self._words = _TermCache(self._analyze_word)
        self._pieces = _TermCache(self._analyze_piece)

    def terms(self, text: str) -> list[str]:
        """The terms of ``text``; the hot path of indexing.

        Text is cut at whitespace, in C, and each distinct piece ("GPUs," or "(Meta)") is
        analyzed once: a word never spans whitespace, so a piece's terms are the terms its
        words have in the whole text. A piece seen before costs one dictionary lookup, in C
        (map, chain); running the word pattern over every character of every text was about
        two fifths of this method's time.
        """
        return self.terms_of_words(text.split())

    def terms_of_words(self, words: list[str]) -> list[str]:
        """``terms(" ".join(words))``, for text already cut at whitespace."""
        if len(self._pieces) > _PIECE_CACHE_SIZE:
            self._pieces.clear()
            self._words.clear()
        return list(chain.from_iterable(map(self._pieces.__getitem__, words)))

    def spans(self, text: str) -> list[Term]:
        return [Term(term=t, start=s, end=e) for t, s, e in self._analyze(text)]

    def _analyze(self, text: str) -> Iterator[tuple[str, int, int]]:
        folded = fold(text)
        # Folding can change lengths (ligatures, some combined letters); offsets are then only
        # approximate, which costs highlighting nothing worse than a shifted bold span.
        aligned = len(folded) == len(text)
        for match in _WORD.finditer(folded):
            start, end = match.span()
            word = match.group()
            if aligned and _PLURAL_ACRONYM.fullmatch(text[start:end]):
                word = word[:-1]  # Snowball keeps "gpus" apart from "gpu"; "GPUs" is a plural
            for term in self._word_terms(word):
                yield term, start, end

    def _analyze_piece(self, piece: str) -> tuple[str, ...]:
        words = _WORD.findall(_plain_marks(piece))
        return tuple(chain.from_iterable(map(self._words.__getitem__, words)))

    def _analyze_word(self, word: str) -> tuple[str, ...]:
        folded = fold(word)
        if len(folded) == len(word) and _PLURAL_ACRONYM.fullmatch(word):
            folded = folded[:-1]
        return tuple(term for piece in _WORD.findall(folded) for term in self._word_terms(piece))

    def _word_terms(self, word: str) -> list[str]:
        if any(ch.isdigit() for ch in word):
            return [_number_or_code(word)]
        word = word.removesuffix("'s").removesuffix("'")
        if word in self._stopwords:
            return []
        parts = word.replace("'", "").split("-") if "-" in word or "," in word else [word]
        terms = []
        for part in parts:
            for piece in part.split(","):
                piece = piece.replace(".", "")  # "u.s" -> "us"
                if piece and piece not in self._stopwords:
                    terms.append(self._stem(piece))
        return terms


class _TermCache(dict[str, tuple[str, ...]]):
    """The terms of each piece of text or word seen before; a missing one is analyzed as it
    is looked up, so that ``map`` over them runs in one pass."""

    def __init__(self, analyze: Callable[[str], tuple[str, ...]]) -> None:
        super().__init__()
        self._analyze = analyze

    def __missing__(self, text: str) -> tuple[str, ...]:
        terms = self[text] = self._analyze(text)
        return terms


def fold(text: str) -> str:
    """Case-fold and strip accents: "Café" and "cafe" are the same word."""
    decomposed = unicodedata.normalize("NFKD", _plain_marks(text))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold()


def _number_or_code(word: str) -> str:
    """Numbers lose thousands separators ("600,000" -> "600000"); codes stay whole ("h100")."""
    word = word.removesuffix("'s")
    if _NUMBER.fullmatch(word):
        return word.replace(",", "")
    if _PLURAL_CODE.fullmatch(word):
        word = word[:-1]  # "H100s" are H100s
    return word.replace(",", "").replace("'", "")


def _identity(word: str) -> str:
    return word
