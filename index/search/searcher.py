"""Searching a snapshot: a question becomes ranked passages, one per article first.

BM25 finds the passages that match; a recency prior then lifts the news published shortly before
the question was asked, and articles published after it are never shown.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from index.errors import QuestionError
from index.models import Hit
from index.search.bm25 import DocMask
from index.search.snapshot import Snapshot

SECONDS_PER_DAY = 86400.0
# Servers' views kept ready (one boolean per article each: 160 KB at 160k articles).
MAX_VIEWS = 256


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
    origins: frozenset[str] | None = Field(
        default=None,
        description=(
            "only articles from these configured sources (origin keys, 'feed:https://…'): what "
            "one Discord server may see; None: every source"
        ),
    )


class Searcher:
    """Ranks the passages of one snapshot for questions. Safe to share between threads."""

    def __init__(self, snapshot: Snapshot, config: SearchConfig | None = None) -> None:
        self.snapshot = snapshot
        self.config = config or SearchConfig()
        self._display: list[str] | None = None
        self._times: np.ndarray | None = None
        self._views: dict[frozenset[str], np.ndarray] = {}
        self._origin_ids: dict[str, int] | None = None
        self._priors: dict[float, np.ndarray] = {}
        self._live: np.ndarray | None = None

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
        return self.search_terms(self.query_terms(question), limit, filters)

    def search_terms(
        self, terms: list[str], limit: int = 10, filters: SearchFilters | None = None
    ) -> list[Hit]:
        """``search`` for terms already analyzed (and mended, see ``query.build_query``)."""
        filters = filters or SearchFilters()
        vocab = self.snapshot.vocab
        term_ids = [i for t in dict.fromkeys(terms) if (i := vocab.get(t)) is not None]
        if not term_ids:
            return []
        # Enough candidates that one passage per article still fills the page.
        pool = max(limit * POOL_FACTOR, MIN_POOL)
        allowed = self._allowed(filters)
        live = self._live_passages()
        mask = allowed(np.arange(self.snapshot.postings.n_docs)) if allowed else None
        ranked, scores = self.snapshot.postings.best(
            term_ids,
            pool,
            prior=self._prior(filters),
            allowed=live if mask is None else (mask if live is None else mask & live),
        )
        picked = _one_per_article_first(ranked, self.snapshot.passage_article, limit)
        return [self._hit(int(ranked[i]), float(scores[i])) for i in picked]

    def filter_problem(self, filters: SearchFilters | None) -> str | None:
        """Why the filters leave no article to search, in words, or None when some are left."""
        if filters is None or (filters.since is None and not filters.source):
            return None
        snap = self.snapshot
        published = snap.article_published
        before = self.visible(filters.origins)
        if filters.asked is not None:
            before = before & ~(published >= _end_of_day(filters.asked))
        from_source = self._source_articles(filters.source) if filters.source else before
        if filters.source and not (from_source & before).any():
            nearest = self.nearest_outlets(filters.source, origins=filters.origins)
            hint = f"; the nearest outlets are {', '.join(nearest)}" if nearest else ""
            return f"No articles from {filters.source} in the index{hint}."
        if filters.since is not None:
            recent = published >= filters.since.timestamp()
            if not (recent & before & from_source).any():
                dated = published[before & from_source]
                dated = dated[~np.isnan(dated)]
                newest = (
                    datetime.fromtimestamp(float(dated.max()), UTC).date().isoformat()
                    if len(dated)
                    else "undated"
                )
                where = f" from {filters.source}" if filters.source else ""
                return (
                    f"Nothing{where} newer than {filters.since:%Y-%m-%d}; "
                    f"the newest article{where} is from {newest}."
                )
        return None

    def outlets(
        self, typed: str = "", limit: int = 25, origins: frozenset[str] | None = None
    ) -> list[str]:
        """Outlet names and sites in the index for a half-typed ``typed``: those starting with
        it first, then those containing it, each by how many articles they have. With
        ``origins``, only those of articles from these sources (one server's view)."""
        snap = self.snapshot
        typed = typed.lower().strip()
        visible = self.visible(origins)
        counts = np.bincount(snap.article_source[visible], minlength=len(snap.sources))
        host_counts = np.bincount(snap.article_host[visible], minlength=len(snap.hosts))
        names = [
            (n, int(c)) for n, c in zip(self.display_sources(), counts, strict=True) if n and c
        ]
        names += [(h, int(c)) for h, c in zip(snap.hosts, host_counts, strict=True) if h and c]
        best: dict[str, int] = {}
        for name, count in names:
            if typed in name.lower():
                best[name] = max(best.get(name, 0), count)
        ranked = sorted(best, key=lambda n: (not n.lower().startswith(typed), -best[n], n))
        return ranked[:limit]

    def display_sources(self) -> list[str]:
        """Outlet names as the articles spell them (the index keys them lower-cased)."""
        if self._display is None:
            snap = self.snapshot
            names = list(snap.sources)
            seen: set[int] = set()
            for index, source in enumerate(snap.article_source.tolist()):
                if source not in seen:
                    seen.add(source)
                    names[source] = snap.article(index).source or "unknown"
                    if len(seen) == len(names):
                        break
            self._display = names
        return self._display

    def nearest_outlets(
        self, wanted: str, limit: int = 3, origins: frozenset[str] | None = None
    ) -> list[str]:
        """Outlets spelled like ``wanted``, as the articles spell them, for "did you mean"."""
        snap = self.snapshot
        visible = self.visible(origins)
        shown = {
            snap.sources[i]: self.display_sources()[i]
            for i in np.unique(snap.article_source[visible]).tolist()
        }
        shown.update((snap.hosts[i], snap.hosts[i]) for i in np.unique(snap.article_host[visible]))
        keys = sorted(n for n in shown if n)
        close = difflib.get_close_matches(wanted.lower().strip(), keys, n=limit, cutoff=0.5)
        return [shown[key] for key in close]

    def newest(self, limit: int, filters: SearchFilters | None = None) -> list[Hit]:
        """The first passage of each of the newest articles the filters allow, newest first."""
        snap = self.snapshot
        n_articles = len(snap.article_published)
        allowed = self._allowed(filters or SearchFilters())
        firsts = np.searchsorted(snap.passage_article, np.arange(n_articles))
        keep = allowed(firsts) if allowed is not None else np.ones(n_articles, dtype=bool)
        if snap.article_gone is not None:
            keep &= ~snap.article_gone
        published = np.where(np.isnan(snap.article_published), -np.inf, snap.article_published)
        order = [int(a) for a in np.argsort(-published, kind="stable") if keep[a]]
        return [self._hit(int(firsts[a]), 0.0) for a in order[:limit]]

    def _allowed(self, filters: SearchFilters) -> DocMask | None:
        if (
            filters.asked is None
            and filters.since is None
            and not filters.source
            and filters.origins is None
        ):
            return None
        snap = self.snapshot
        wanted_articles = self._source_articles(filters.source) if filters.source else None
        if filters.origins is not None:
            visible = self.visible(filters.origins)
            wanted_articles = visible if wanted_articles is None else wanted_articles & visible
        asked_end = _end_of_day(filters.asked) if filters.asked is not None else None
        since = filters.since.timestamp() if filters.since is not None else None

        def allowed(passages: np.ndarray) -> np.ndarray:
            articles = snap.passage_article[passages]
            published = snap.article_published[articles]
            keep = np.ones(len(passages), dtype=bool)
            if asked_end is not None:
                # The whole day it was asked counts: questions carry dates, articles often only dates.
                keep &= ~(published >= asked_end)
            if since is not None:
                keep &= published >= since
            if wanted_articles is not None:
                keep &= wanted_articles[articles]
            return keep

        return allowed

    def visible(self, origins: frozenset[str] | None) -> np.ndarray:
        """Per article: may this view see it? Articles indexed without a source of their own
        (built straight from files, not through the store) belong to everyone."""
        snap = self.snapshot
        if origins is None:
            everyone = np.ones(len(snap.article_origin), dtype=bool)
            return everyone if snap.article_gone is None else ~snap.article_gone
        view = self._views.get(origins)
        if view is None:
            if self._origin_ids is None:
                self._origin_ids = {name: i for i, name in enumerate(snap.origins)}
            # One flag per source, then one lookup per article: 20 of 5,000 feeds over 160k
            # articles costs a fraction of a millisecond.
            flags = np.zeros(len(snap.origins) + 1, dtype=bool)
            flags[[self._origin_ids[o] for o in origins if o in self._origin_ids]] = True
            if "" in self._origin_ids:
                flags[self._origin_ids[""]] = True
            view = flags[snap.article_origin]
            if snap.article_gone is not None:
                view &= ~snap.article_gone
            if len(self._views) >= MAX_VIEWS:
                self._views.clear()
            self._views[origins] = view
        return view

    def _source_articles(self, wanted: str) -> np.ndarray:
        """Per article: is it from the outlet or site asked for ("cnn.com", "The Circuit")?"""
        snap = self.snapshot
        wanted = wanted.lower().strip()
        sources = [i for i, name in enumerate(snap.sources) if name == wanted]
        hosts = [
            i for i, host in enumerate(snap.hosts) if host == wanted or host.endswith("." + wanted)
        ]
        return np.isin(snap.article_source, sources) | np.isin(snap.article_host, hosts)

    def _live_passages(self) -> np.ndarray | None:
        """Per passage, whether its article is still there (see ``Snapshot.article_gone``);
        None when every one is."""
        if self._live is None and self.snapshot.passage_gone is not None:
            self._live = ~self.snapshot.passage_gone
        return self._live

    def _prior(self, filters: SearchFilters) -> np.ndarray | None:
        """The recency prior of every passage: 1 + weight * 2^(-age / half-life), age as of
        the day asked (or now). Kept for the last few moments asked at, to the minute: a
        minute moves no score by more than a hundred-thousandth."""
        weight = self.config.recency_weight
        if weight == 0:
            return None
        if filters.asked:
            now = _end_of_day(filters.asked)
        else:
            now = float(int(datetime.now(UTC).timestamp()) // 60 * 60)
        prior = self._priors.get(now)
        if prior is None:
            published = self._passage_times()
            half_life = self.config.half_life_days * SECONDS_PER_DAY
            # Undated passages are at -inf: infinitely old, no boost. A date after the moment
            # asked is bad data (or filtered out) and is lifted like the newest.
            prior = 1.0 + weight * np.exp2(-np.maximum(now - published, 0) / half_life)
            if len(self._priors) >= MAX_PRIORS:
                self._priors.clear()
            self._priors[now] = prior
        return prior

    def _passage_times(self) -> np.ndarray:
        """Each passage's publication time (-inf when undated)."""
        if self._times is None:
            snap = self.snapshot
            published = snap.article_published[snap.passage_article]
            self._times = np.where(np.isnan(published), -np.inf, published)
        return self._times

    def _hit(self, passage_id: int, score: float) -> Hit:
        snap = self.snapshot
        return Hit(
            article=snap.article(int(snap.passage_article[passage_id])),
            position=int(snap.passage_position[passage_id]),
            text=snap.passage_text(passage_id),
            score=score,
        )


POOL_FACTOR = 5
MAX_PRIORS = 4  # the moments asked at whose priors are kept (8 MB each at a million passages)
MIN_POOL = 50


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
