"""An article's analysis in compact form: what workers send back, the store keeps and the
snapshot builder reads.

Terms are numbers into a vocabulary and the passage texts one UTF-8 blob, not lists of
strings: pickling, storing and re-reading a million passages' terms as strings cost more than
analyzing them, and a rebuild from the store should re-read numbers, not parse text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

# Bump when the stored form of an analysis changes: every stored analysis is then redone.
STORED_FORM = 2

AnalyzedPassage = tuple[str, list[str]]  # passage text, its terms (title terms included)


@dataclass(frozen=True, eq=False)
class AnalyzedArticle:
    """Passages back to back: ``text`` cut at ``text_lengths`` (bytes), and ``ids`` cut at
    ``term_counts``, each id an index into ``vocab``. ``vocab`` may be an article's own (its
    distinct terms) or a shared one (the store's), which the builder maps once."""

    text: bytes
    text_lengths: np.ndarray  # int32 bytes per passage
    term_counts: np.ndarray  # int32 terms per passage
    ids: np.ndarray  # int32
    vocab: Sequence[str]

    @classmethod
    def of(cls, passages: Sequence[tuple[str, Sequence[str]]]) -> AnalyzedArticle:
        encoded = [text.encode("utf-8") for text, _ in passages]
        tokens = list(chain.from_iterable(terms for _, terms in passages))
        vocab = list(dict.fromkeys(tokens))  # distinct, in order of first use (in C)
        number = {term: i for i, term in enumerate(vocab)}
        return cls(
            text=b"".join(encoded),
            text_lengths=np.fromiter(map(len, encoded), dtype=np.int32, count=len(encoded)),
            term_counts=np.fromiter(
                (len(terms) for _, terms in passages), dtype=np.int32, count=len(passages)
            ),
            ids=np.fromiter(map(number.__getitem__, tokens), dtype=np.int32, count=len(tokens)),
            vocab=vocab,
        )

    def __len__(self) -> int:
        return len(self.term_counts)

    def passages(self) -> list[AnalyzedPassage]:
        """The readable form: each passage's text and terms."""
        texts, start = [], 0
        for length in self.text_lengths.tolist():
            texts.append(self.text[start : start + length].decode("utf-8"))
            start += length
        terms = [self.vocab[i] for i in self.ids.tolist()]
        cuts = np.cumsum(self.term_counts).tolist()
        return [
            (text, terms[end - count : end])
            for text, end, count in zip(texts, cuts, self.term_counts.tolist(), strict=True)
        ]
