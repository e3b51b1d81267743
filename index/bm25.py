"""BM25 with rank-bm25's semantics, precomputed as a term-to-passage weight matrix.

rank-bm25 recomputes every term's weight for every passage on every query, in Python. Here each
(term, passage) contribution is computed once at build time with the exact formula of the chosen
rank-bm25 variant, so a query only adds up the posting lists of its terms.
``tests/index/test_bm25.py`` proves the scores equal rank-bm25's on random corpora.
"""

from __future__ import annotations

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
    """Inverse document frequency per term, as rank-bm25's ``_calc_idf`` of the variant."""
    df = doc_freq.astype(np.float64)
    if params.variant == "plus":
        return np.log((n_docs + 1) / df)
    if params.variant == "l":
        return np.log(n_docs + 1) - np.log(df + 0.5)
    values = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
    if len(values):
        # Terms in more than half the passages would get negative weight; Okapi floors them.
        floor = params.epsilon * (values.sum() / len(values))
        values = np.where(values < 0, floor, values)
    return values


def contributions(
    tf: np.ndarray, doc_len: np.ndarray, avgdl: float, term_idf: np.ndarray, params: BM25Params
) -> np.ndarray:
    """Score added by one occurrence-count ``tf`` (> 0) of a term in a passage of ``doc_len``."""
    tf = tf.astype(np.float64)
    norm = 1 - params.b + params.b * doc_len.astype(np.float64) / avgdl
    k1 = params.k1
    if params.variant == "okapi":
        return term_idf * (tf * (k1 + 1) / (tf + k1 * norm))
    delta = params.effective_delta
    if params.variant == "plus":
        return term_idf * (delta + (tf * (k1 + 1)) / (k1 * norm + tf))
    ctd = tf / norm
    return term_idf * tf * (k1 + 1) * (ctd + delta) / (k1 + ctd + delta)


def baseline(term_idf: np.ndarray, params: BM25Params) -> np.ndarray:
    """Score every passage gets for a query term it does not contain (BM25Plus's delta)."""
    if params.variant == "plus":
        return term_idf * params.effective_delta
    return np.zeros_like(term_idf)


@dataclass(frozen=True)
class Postings:
    """Term-major sparse matrix: passages ``docs[offsets[t]:offsets[t+1]]`` contain term ``t``.

    ``weights`` hold each passage's contribution minus the term's ``base``, so that a passage
    without the term, which scores ``base``, needs no entry.
    """

    offsets: np.ndarray  # int64, n_terms + 1
    docs: np.ndarray  # int32, n_postings
    tfs: np.ndarray  # int32, n_postings: kept so weights can be recomputed without re-analysis
    weights: np.ndarray  # float32, n_postings
    base: np.ndarray  # float64, n_terms
    n_docs: int

    def scores(self, term_ids: list[int]) -> np.ndarray:
        """BM25 score of every passage for a query given as term ids (repeats count again)."""
        scores = np.full(self.n_docs, float(self.base[term_ids].sum()) if term_ids else 0.0)
        for term in term_ids:
            lo, hi = self.offsets[term], self.offsets[term + 1]
            scores[self.docs[lo:hi]] += self.weights[lo:hi]
        return scores


def build_postings(
    doc_terms: np.ndarray, doc_starts: np.ndarray, n_terms: int, params: BM25Params
) -> tuple[Postings, np.ndarray]:
    """Build the weight matrix from every passage's term ids, concatenated.

    ``doc_terms`` holds the term ids of passage ``d`` at ``doc_starts[d]:doc_starts[d+1]``.
    Returns the postings and the per-passage lengths.
    """
    n_docs = len(doc_starts) - 1
    doc_len = np.diff(doc_starts).astype(np.int64)
    doc_of_token = np.repeat(np.arange(n_docs, dtype=np.int64), doc_len)
    keys = doc_of_token * n_terms + doc_terms.astype(np.int64)
    unique_keys, tfs = np.unique(keys, return_counts=True)
    docs = (unique_keys // n_terms).astype(np.int32)
    terms = (unique_keys % n_terms).astype(np.int64)
    order = np.argsort(terms, kind="stable")  # term-major, passages ascending within a term
    docs, terms, tfs = docs[order], terms[order], tfs[order].astype(np.int32)
    offsets = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=n_terms), out=offsets[1:])
    postings = weigh(offsets, docs, tfs, doc_len, params)
    return postings, doc_len


def weigh(
    offsets: np.ndarray, docs: np.ndarray, tfs: np.ndarray, doc_len: np.ndarray, params: BM25Params
) -> Postings:
    """Compute the weights of a postings structure from its term counts."""
    n_docs = len(doc_len)
    doc_freq = np.diff(offsets)
    avgdl = float(doc_len.sum()) / n_docs if n_docs else 1.0
    term_idf = idf(doc_freq, n_docs, params)
    base = baseline(term_idf, params)
    term_of_posting = np.repeat(np.arange(len(doc_freq)), doc_freq)
    raw = contributions(tfs, doc_len[docs], avgdl or 1.0, term_idf[term_of_posting], params)
    weights = (raw - base[term_of_posting]).astype(np.float32)
    return Postings(offsets=offsets, docs=docs, tfs=tfs, weights=weights, base=base, n_docs=n_docs)
