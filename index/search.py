"""Searching a snapshot: a question becomes ranked passages, one per article first."""

from __future__ import annotations

import numpy as np

from index.errors import QuestionError
from index.models import Hit
from index.snapshot import Snapshot


class Searcher:
    """Ranks the passages of one snapshot for questions. Safe to share between threads."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def query_terms(self, question: str) -> list[str]:
        terms = self.snapshot.analyzer.terms(question)
        if not terms:
            raise QuestionError(
                "The question has no words to search for (only common words such as "
                "'what' or 'the'); say what it is about."
            )
        return list(dict.fromkeys(terms))  # a word repeated in a question is not more important

    def search(self, question: str, limit: int = 10) -> list[Hit]:
        """Best passages first; an article's second passage comes only after every article's first."""
        term_ids = [
            i for t in self.query_terms(question) if (i := self.snapshot.vocab.get(t)) is not None
        ]
        if not term_ids:
            return []
        postings = self.snapshot.postings
        scores = postings.scores(term_ids)
        matched = np.zeros(postings.n_docs, dtype=bool)
        for term in term_ids:
            matched[postings.docs[postings.offsets[term] : postings.offsets[term + 1]]] = True
        candidates = np.flatnonzero(matched)
        pool = min(len(candidates), max(limit * 8, 64))
        if pool < len(candidates):
            part = np.argpartition(-scores[candidates], pool - 1)[:pool]
            candidates = candidates[part]
        # Ties break on passage order, so results are stable across runs.
        ranked = candidates[np.lexsort((candidates, -scores[candidates]))]
        return [
            self._hit(int(i), float(scores[i]))
            for i in _one_per_article_first(ranked, self.snapshot, limit)
        ]

    def _hit(self, passage_id: int, score: float) -> Hit:
        passage = self.snapshot.passages[passage_id]
        return Hit(
            article=self.snapshot.articles[passage.article],
            position=passage.position,
            text=passage.text,
            score=score,
        )


def _one_per_article_first(ranked: np.ndarray, snapshot: Snapshot, limit: int) -> list[int]:
    firsts: list[int] = []
    rest: list[int] = []
    seen: set[int] = set()
    for passage_id in ranked.tolist():
        article = snapshot.passages[passage_id].article
        (rest if article in seen else firsts).append(passage_id)
        seen.add(article)
    return (firsts + rest)[:limit]
