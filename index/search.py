"""Searching a snapshot: a question becomes ranked passages, one per article first.

BM25 finds the passages that match; a recency prior then lifts the news published shortly before
the question was asked, and articles published after it are never shown.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from index.errors import QuestionError
from index.models import Hit
from index.snapshot import Snapshot

SECONDS_PER_DAY = 86400.0


class SearchConfig(BaseModel):
    """How ranking weighs recency (defaults measured on ../shared/eval, see docs/quality.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    half_life_days: float = Field(
        default=10.0, gt=0, description="age at which the recency boost halves"
    )
    recency_weight: float = Field(
        default=2.0,
        ge=0,
        description="boost of a brand-new article over an old one; 0 turns recency off",
    )


class SearchFilters(BaseModel):
    """The moment the question is asked, and the narrowing a user asked for."""

    model_config = ConfigDict(frozen=True)

    asked: datetime | None = Field(
        default=None, description="articles published later are excluded"
    )
    since: datetime | None = Field(default=None, description="only articles published from then on")
    source: str | None = Field(default=None, description="only this outlet or site, e.g. cnn.com")


class Searcher:
    """Ranks the passages of one snapshot for questions. Safe to share between threads."""

    def __init__(self, snapshot: Snapshot, config: SearchConfig | None = None) -> None:
        self.snapshot = snapshot
        self.config = config or SearchConfig()
        self._passage_article = np.fromiter(
            (p.article for p in snapshot.passages), dtype=np.int64, count=len(snapshot.passages)
        )
        self._published = np.array(
            [a.published.timestamp() if a.published else np.nan for a in snapshot.articles],
            dtype=np.float64,
        )

    def query_terms(self, question: str) -> list[str]:
        terms = self.snapshot.analyzer.terms(question)
        if not terms:
            raise QuestionError(
                "The question has no words to search for (only common words such as "
                "'what' or 'the'); say what it is about."
            )
        return list(dict.fromkeys(terms))  # a word repeated in a question is not more important

    def search(
        self, question: str, limit: int = 10, filters: SearchFilters | None = None
    ) -> list[Hit]:
        """Best passages first; an article's second passage comes only after every article's first."""
        filters = filters or SearchFilters()
        vocab = self.snapshot.vocab
        term_ids = [i for t in self.query_terms(question) if (i := vocab.get(t)) is not None]
        if not term_ids:
            return []
        postings = self.snapshot.postings
        scores = postings.scores(term_ids)
        matched = np.zeros(postings.n_docs, dtype=bool)
        for term in term_ids:
            matched[postings.docs[postings.offsets[term] : postings.offsets[term + 1]]] = True
        candidates = self._allowed(np.flatnonzero(matched), filters)
        final = scores[candidates] * self._recency(candidates, filters)
        order = np.lexsort((candidates, -final))  # ties break on passage order: stable results
        ranked, ranked_scores = candidates[order], final[order]
        picked = _one_per_article_first(ranked, self._passage_article, limit)
        return [self._hit(int(ranked[i]), float(ranked_scores[i])) for i in picked]

    def _allowed(self, candidates: np.ndarray, filters: SearchFilters) -> np.ndarray:
        published = self._published[self._passage_article[candidates]]
        keep = np.ones(len(candidates), dtype=bool)
        if filters.asked is not None:
            # The whole day it was asked counts: questions carry dates, articles often only dates.
            keep &= ~(published >= _end_of_day(filters.asked))
        if filters.since is not None:
            keep &= published >= filters.since.timestamp()
        if filters.source:
            keep &= self._from_source(candidates, filters.source.lower())
        return candidates[keep]

    def _from_source(self, candidates: np.ndarray, wanted: str) -> np.ndarray:
        articles = self.snapshot.articles
        matches = {i for i, a in enumerate(articles) if _same_outlet(a.source, a.url, wanted)}
        return np.fromiter(
            (int(a) in matches for a in self._passage_article[candidates]),
            dtype=bool,
            count=len(candidates),
        )

    def _recency(self, candidates: np.ndarray, filters: SearchFilters) -> np.ndarray:
        weight = self.config.recency_weight
        if weight == 0 or len(candidates) == 0:
            return np.ones(len(candidates))
        now = _end_of_day(filters.asked) if filters.asked else datetime.now(UTC).timestamp()
        age_days = (
            np.maximum(now - self._published[self._passage_article[candidates]], 0)
            / SECONDS_PER_DAY
        )
        boost = np.exp2(-age_days / self.config.half_life_days)
        return 1.0 + weight * np.nan_to_num(boost, nan=0.0)  # undated articles get no boost

    def _hit(self, passage_id: int, score: float) -> Hit:
        passage = self.snapshot.passages[passage_id]
        return Hit(
            article=self.snapshot.articles[passage.article],
            position=passage.position,
            text=passage.text,
            score=score,
        )


def _one_per_article_first(
    ranked: np.ndarray, passage_article: np.ndarray, limit: int
) -> list[int]:
    """Positions in ``ranked``: each article's best passage in order, then the others."""
    firsts: list[int] = []
    rest: list[int] = []
    seen: set[int] = set()
    for position, passage_id in enumerate(ranked.tolist()):
        article = int(passage_article[passage_id])
        if article in seen:
            if len(rest) < limit:
                rest.append(position)
        else:
            seen.add(article)
            firsts.append(position)
            if len(firsts) >= limit:
                break
    return (firsts + rest)[:limit]


def _end_of_day(moment: datetime) -> float:
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0):
        return moment.timestamp() + SECONDS_PER_DAY
    return moment.timestamp()


def _same_outlet(source: str, url: str | None, wanted: str) -> bool:
    host = (urlsplit(url).hostname or "").lower() if url else ""
    return source.lower() == wanted or host == wanted or host.endswith("." + wanted)
