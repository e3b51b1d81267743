"""BM25 with rank-bm25's semantics, precomputed as a term-to-passage weight matrix.

rank-bm25 recomputes every term's weight for every passage on every query, in Python. Here each
(term, passage) contribution is computed once at build time with the exact formula of the chosen
rank-bm25 variant, so a query only adds up the posting lists of its terms.
``tests/index/test_bm25.py`` proves the scores equal rank-bm25's on random corpora.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

Variant = Literal["okapi", "plus", "l"]


class BM25Params(BaseModel):
    """The rank-bm25 variant and its parameters (defaults measured on ../shared/eval)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    variant: Variant = "plus"
    k1: float = Field(default=1.5, gt=0, le=10)
    b: float = Field(default=0.75, ge=0, le=1)
    epsilon: float = Field(default=0.25, ge=0, description="BM25Okapi's floor for negative IDF")
    delta: float | None = Field(
        default=None, ge=0, description="BM25Plus/BM25L lower bound; None means rank-bm25's default"
    )

    @property
    def effective_delta(self) -> float:
        if self.delta is not None:
            return self.delta
        return 1.0 if self.variant == "plus" else 0.5


def idf(doc_freq: np.ndarray, n_docs: int, params: BM25Params) -> np.ndarray:
    """Inverse document frequency per term, as rank-bm25's ``_calc_idf`` of the variant.

    A term no passage holds any more (its articles were removed) weighs nothing, as a word
    rank-bm25 never saw."""
    df = doc_freq.astype(np.float64)
    live = df > 0
    values = np.zeros_like(df)
    if params.variant == "plus":
        values[live] = np.log((n_docs + 1) / df[live])
    elif params.variant == "l":
        values[live] = np.log(n_docs + 1) - np.log(df[live] + 0.5)
    else:
        values[live] = np.log(n_docs - df[live] + 0.5) - np.log(df[live] + 0.5)
        if live.any():
            # Terms in more than half the passages would get negative weight; Okapi floors them.
            floor = params.epsilon * (values[live].sum() / live.sum())
            values = np.where(live & (values < 0), floor, values)
    return values


def baseline(term_idf: np.ndarray, params: BM25Params) -> np.ndarray:
    """Score every passage gets for a query term it does not contain (BM25Plus's delta)."""
    if params.variant == "plus":
        return term_idf * params.effective_delta
    return np.zeros_like(term_idf)


@dataclass(frozen=True)
class Postings:
    """Term-major sparse matrix: passages ``docs[offsets[t]:offsets[t+1]]`` contain term ``t``.

    ``weights`` hold each passage's contribution minus the term's ``base``, so that a passage
    without the term, which scores ``base``, needs no entry. ``term_max`` is each term's largest
    weight: the bound that lets ``top_k`` skip work (MaxScore).
    """

    offsets: np.ndarray  # int64, n_terms + 1
    docs: np.ndarray  # int32, n_postings
    tfs: np.ndarray  # int32, n_postings: kept so weights can be recomputed without re-analysis
    weights: np.ndarray  # float32, n_postings
    base: np.ndarray  # float64, n_terms
    term_max: np.ndarray  # float32, n_terms
    n_docs: int

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = int(self.offsets[term]), int(self.offsets[term + 1])
        return self.docs[lo:hi], self.weights[lo:hi]

    def scores(self, term_ids: list[int]) -> np.ndarray:
        """BM25 score of every passage for a query given as term ids (repeats count again)."""
        scores = np.full(self.n_docs, float(self.base[term_ids].sum()) if term_ids else 0.0)
        for term in term_ids:
            docs, weights = self.postings(term)
            scores[docs] += weights
        return scores

    def top_k(
        self,
        term_ids: list[int],
        k: int,
        *,
        allowed: DocMask | None = None,
        factor: DocFactor | None = None,
        factor_max: float = 1.0,
        boosted: np.ndarray | None = None,
        others_factor_max: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best passages matching at least one query term, and their scores, exactly.

        Scores are BM25 times ``factor`` (at most ``factor_max``; a recency prior), over passages
        ``allowed`` keeps. MaxScore: terms are taken rarest-weight-first; once the terms not yet
        taken cannot lift an unseen passage above the k-th score, their postings are only looked
        up for the candidates instead of being read whole.

        A recency prior lifts few passages much (the news of the last weeks) and the rest of an
        archive hardly at all. Passages ``boosted`` (sorted ids) are scored exactly up front;
        every other passage's factor is at most ``others_factor_max``, and that tighter bound is
        what lets the common words of a long question be skipped.
        """
        counts: dict[int, int] = {}
        for term in term_ids:
            counts[term] = counts.get(term, 0) + 1
        terms = sorted(counts, key=lambda t: -float(self.term_max[t]) * counts[t])
        if not terms:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        bounds = np.array([max(float(self.term_max[t]), 0.0) * counts[t] for t in terms])
        # rest[m]: the most the terms from m on can add to a passage that holds none before m.
        rest = np.append(np.cumsum(bounds[::-1])[::-1], 0.0)
        base = float(sum(self.base[t] * c for t, c in counts.items()))
        lift = max(factor_max, 1.0) if factor is not None else 1.0
        found: list[tuple[np.ndarray, np.ndarray]] = []
        threshold = -np.inf
        lengths = np.array([self.offsets[t + 1] - self.offsets[t] for t in terms])
        if len(terms) > MAX_PRUNED_TERMS:
            # Very long questions hold many common terms whose bounds never fall below the
            # k-th score: pruning only adds passes, and one pass over every posting is fastest.
            taken = len(terms)
        else:
            if factor is not None and boosted is not None and others_factor_max is not None:
                lift = max(min(others_factor_max, lift), 1.0)
                cand, final = self._score_only(boosted, terms, counts, base, allowed, factor)
                found.append(_best(cand, final, k))
                if len(final) >= k:
                    threshold = np.partition(final, len(final) - k)[len(final) - k]
            # A first pass over the rarest-weight terms finds a k-th score; every passage
            # holding none of them scores at most (base + rest) * lift, so a second pass needs
            # only the terms that can still lift an unseen passage past it. Both are exact.
            taken = min(len(terms), int(np.searchsorted(np.cumsum(lengths), k)) + 1)
        if taken == len(terms) and allowed is None:
            return self._one_pass(terms, counts, k, base, factor, factor_max)
        cand, final = self._exact(terms, counts, taken, k, base, allowed, factor, factor_max)
        if len(final) >= k:
            threshold = max(threshold, np.partition(final, len(final) - k)[len(final) - k])
        needed = taken
        while needed < len(terms) and (rest[needed] + base) * lift >= threshold:
            needed += 1
        if needed > taken:
            cand, final = self._exact(terms, counts, needed, k, base, allowed, factor, factor_max)
        cand, final = _best(cand, final, k)
        if found:
            # A boosted passage may be found twice, with the same exact score: keep it once.
            cand, first = np.unique(np.concatenate([cand, found[0][0]]), return_index=True)
            cand, final = _best(cand, np.concatenate([final, found[0][1]])[first], k)
        return cand, final

    def _one_pass(
        self,
        terms: list[int],
        counts: dict[int, int],
        k: int,
        base: float,
        factor: DocFactor | None,
        factor_max: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every posting of every term added into one dense array, and the k best read from it
        directly: no list of the hundreds of thousands of passages a common word matches."""
        dense = np.zeros(self.n_docs)
        touched = None
        for term in terms:
            docs = self._add_into(dense, term, counts[term])
            if self.term_max[term] <= 0:  # zero weights still match; positive ones show in dense
                if touched is None:
                    touched = np.zeros(self.n_docs, dtype=bool)
                touched[docs] = True
        matched = dense > 0 if touched is None else (dense > 0) | touched
        n_matched = int(np.count_nonzero(matched))
        if n_matched <= k:
            cand = np.flatnonzero(matched)
        else:
            # The k-th best raw score is a floor for the k-th best final one (factors are at
            # least 1); only passages the largest factor can lift to it are candidates.
            # Unmatched passages are 0 in the array: above a matched negative score (Okapi's
            # floored IDF), so then the k-th is taken among the matched only.
            pool = dense if touched is None else dense[matched]
            floor = np.partition(pool, len(pool) - k)[len(pool) - k] + base
            lift = max(factor_max, 1.0) if factor is not None else 1.0
            # (A factor lowers a negative score, so below 0 the floor says nothing.)
            keep = matched & ((dense + base) * lift >= floor) if floor > 0 else matched
            cand = np.flatnonzero(keep)
        raw = dense[cand] + base
        return _best(cand, raw * factor(cand) if factor is not None else raw, k)

    def _score_only(
        self,
        passages: np.ndarray,
        terms: list[int],
        counts: dict[int, int],
        base: float,
        allowed: DocMask | None,
        factor: DocFactor,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact final scores of the given passages (sorted ids) that hold a query term."""
        partial = np.zeros(len(passages))
        matched = np.zeros(len(passages), dtype=bool)
        for term in terms:
            docs, weights = self.postings(term)
            if not len(docs):
                continue
            where = np.searchsorted(docs, passages)
            hit = where < len(docs)
            hit[hit] = docs[where[hit]] == passages[hit]
            partial[hit] += weights[where[hit]] * counts[term]
            matched |= hit
        cand, raw = passages[matched], partial[matched] + base
        if allowed is not None:
            keep = allowed(cand)
            cand, raw = cand[keep], raw[keep]
        return cand.astype(np.int64), raw * factor(cand)

    def _exact(
        self,
        terms: list[int],
        counts: dict[int, int],
        taken: int,
        k: int,
        base: float,
        allowed: DocMask | None,
        factor: DocFactor | None,
        factor_max: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The passages holding one of ``terms[:taken]``, with their exact final scores (the
        other terms looked up), less those that cannot reach the k-th best."""
        cand, partial = self._accumulate([(t, counts[t]) for t in terms[:taken]])
        dense: np.ndarray | None = None
        for term in terms[taken:]:
            docs, weights = self.postings(term)
            if len(docs) * LOOKUP_COST < len(cand):
                # Fewer postings than candidates: adding them all densely and reading the
                # candidates back beats a binary search per candidate.
                if dense is None:
                    dense = np.zeros(self.n_docs)
                self._add_into(dense, term, counts[term])
                continue
            where = np.searchsorted(docs, cand)
            found = where < len(docs)
            found[found] = docs[where[found]] == cand[found]
            partial[found] += weights[where[found]] * counts[term]
        if dense is not None:
            partial += dense[cand]
        if allowed is not None:
            keep = allowed(cand)
            cand, partial = cand[keep], partial[keep]
        raw = partial + base
        if factor is not None and len(raw) > k and factor_max > 1:
            # factor >= 1, so the k-th best raw score is a floor for the k-th best final one;
            # passages that cannot reach it even with the largest factor need no factor.
            floor = np.partition(raw, len(raw) - k)[len(raw) - k]
            if floor > 0:
                keep = raw * factor_max >= floor
                cand, raw = cand[keep], raw[keep]
        return cand, (raw * factor(cand) if factor is not None else raw)

    def _add_into(self, dense: np.ndarray, term: int, count: int) -> np.ndarray:
        """Add the term's weights (``count`` times) into the per-passage ``dense``; returns
        the passages that hold it."""
        docs, weights = self.postings(term)
        dense[docs] += weights * count if count != 1 else weights
        return docs

    def _accumulate(self, weighted_terms: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """Candidates (sorted passage ids) and their summed weights over the given terms."""
        parts = [self.postings(t) for t, _ in weighted_terms]
        total = sum(len(d) for d, _ in parts)
        if total * 8 > self.n_docs:  # many postings: a dense pass beats sorting them
            dense = np.zeros(self.n_docs)
            touched = np.zeros(self.n_docs, dtype=bool)
            for term, count in weighted_terms:
                # A zero weight (IDF 0) still counts as a match.
                touched[self._add_into(dense, term, count)] = True
            cand = np.flatnonzero(touched)
            return cand, dense[cand]
        docs = np.concatenate([d for d, _ in parts])
        weights = np.concatenate(
            [w.astype(np.float64) * c for (_, w), (_, c) in zip(parts, weighted_terms, strict=True)]
        )
        cand, inverse = np.unique(docs, return_inverse=True)
        return cand.astype(np.int64), np.bincount(inverse, weights=weights, minlength=len(cand))


MAX_PRUNED_TERMS = 30
# Choosing one pass by the postings a question's terms hold (0.5, 1 or 1.5 per passage) was
# slower at p95 on 1M passages than pruning under the boosted bound: the count alone is kept.
LOOKUP_COST = 4  # a binary search per candidate against a dense add per posting, measured


def _best(cand: np.ndarray, final: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best, by score, ties by passage id."""
    best = np.argpartition(-final, k - 1)[:k] if len(final) > k else np.arange(len(final))
    best = best[np.lexsort((cand[best], -final[best]))]
    return cand[best], final[best]


DocMask = Callable[[np.ndarray], np.ndarray]
DocFactor = Callable[[np.ndarray], np.ndarray]


def build_postings(
    doc_terms: np.ndarray, doc_starts: np.ndarray, n_terms: int, params: BM25Params
) -> tuple[Postings, np.ndarray]:
    """Build the weight matrix from every passage's term ids, concatenated.

    ``doc_terms`` holds the term ids of passage ``d`` at ``doc_starts[d]:doc_starts[d+1]``.
    Returns the postings and the per-passage lengths.
    """
    n_docs = len(doc_starts) - 1
    doc_len = np.diff(doc_starts).astype(np.int32)
    # Sorting (term, passage) keys of every token at once takes 20 bytes per token: 4 GB at a
    # million passages. Terms are taken in ranges of about PARTITION_TOKENS tokens instead,
    # each range's postings in term-major order, so the ranges simply follow each other.
    term_counts = np.bincount(doc_terms, minlength=n_terms)
    cut_at = np.cumsum(term_counts)
    bounds = [0]
    while bounds[-1] < n_terms:
        reached = cut_at[bounds[-1] - 1] if bounds[-1] else 0
        bounds.append(
            max(
                bounds[-1] + 1,
                int(np.searchsorted(cut_at, reached + PARTITION_TOKENS, side="right")),
            )
        )
    bounds[-1] = n_terms
    width = max(n_docs, 1)
    docs_parts, tfs_parts, posting_counts = [], [], np.zeros(n_terms, dtype=np.int64)
    for lo, hi in itertools.pairwise(bounds):
        at = (
            np.flatnonzero((doc_terms >= lo) & (doc_terms < hi))
            if (lo, hi) != (0, n_terms)
            else np.arange(len(doc_terms))
        )
        keys = doc_terms[at].astype(np.int64) * width
        keys += np.searchsorted(doc_starts, at, side="right") - 1  # each token's passage
        del at
        keys.sort()
        starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        tfs_parts.append(np.diff(np.append(starts, len(keys))).astype(np.int32))
        unique_keys = keys[starts]
        del keys, starts
        docs_parts.append((unique_keys % width).astype(np.int32))
        posting_counts += np.bincount(unique_keys // width, minlength=n_terms)
        del unique_keys
    offsets = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(posting_counts, out=offsets[1:])
    docs = np.concatenate(docs_parts) if docs_parts else np.zeros(0, dtype=np.int32)
    tfs = np.concatenate(tfs_parts) if tfs_parts else np.zeros(0, dtype=np.int32)
    del docs_parts, tfs_parts
    return weigh(offsets, docs, tfs, doc_len, params), doc_len


PARTITION_TOKENS = 40_000_000
WEIGH_CHUNK = 16_000_000  # postings weighed at a time, to bound the temporaries


def weigh(
    offsets: np.ndarray, docs: np.ndarray, tfs: np.ndarray, doc_len: np.ndarray, params: BM25Params
) -> Postings:
    """Compute the weights of a postings structure from its term counts.

    rank-bm25's formula of the variant, minus each term's ``baseline``, arranged so that a
    million-passage index is weighed in float32 in a few seconds: per-passage length factors are
    computed once, and BM25Plus's delta term cancels against its baseline.
    """
    n_docs = len(doc_len)
    doc_freq = np.diff(offsets)
    avgdl = float(doc_len.sum()) / n_docs if n_docs else 1.0
    term_idf = idf(doc_freq, n_docs, params)
    base = baseline(term_idf, params)
    k1, b = params.k1, params.b
    norm = (1 - b + b * doc_len.astype(np.float64) / (avgdl or 1.0)).astype(np.float32)
    k1_norm = np.float32(k1) * norm
    idf32 = term_idf.astype(np.float32)
    weights = np.empty(len(docs), dtype=np.float32)
    # In chunks: each whole-array temporary would be as large as the weights themselves.
    for lo in range(0, len(docs), WEIGH_CHUNK):
        hi = min(lo + WEIGH_CHUNK, len(docs))
        # Each posting's term's IDF, repeated over the chunk's terms' runs: no search per posting.
        first, last = np.searchsorted(offsets, [lo, hi - 1], side="right") - 1
        runs = np.minimum(offsets[first + 1 : last + 2], hi) - np.maximum(
            offsets[first : last + 1], lo
        )
        idf_of_posting = np.repeat(idf32[first : last + 1], runs)
        tf = tfs[lo:hi].astype(np.float32)
        if params.variant == "l":
            ctd = tf / norm[docs[lo:hi]]
            delta = np.float32(params.effective_delta)
            weights[lo:hi] = (
                idf_of_posting
                * tf
                * np.float32(k1 + 1)
                * (ctd + delta)
                / (np.float32(k1) + ctd + delta)
            )
        else:  # okapi and plus share tf*(k1+1)/(tf + k1*norm); plus adds delta*idf, its baseline
            weights[lo:hi] = idf_of_posting * (
                tf * np.float32(k1 + 1) / (k1_norm[docs[lo:hi]] + tf)
            )
    term_max = np.zeros(len(doc_freq), dtype=np.float32)
    nonempty = doc_freq > 0
    if len(weights):
        term_max[nonempty] = np.maximum.reduceat(weights, offsets[:-1][nonempty])
    return Postings(
        offsets=offsets,
        docs=docs,
        tfs=tfs,
        weights=weights,
        base=base,
        term_max=term_max,
        n_docs=n_docs,
    )
