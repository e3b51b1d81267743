"""The fast scorer returns rank-bm25's own scores, for every variant, on random corpora."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25L, BM25Okapi, BM25Plus

from index.search.bm25 import BM25Params, build_postings

RANK_BM25 = {"okapi": BM25Okapi, "plus": BM25Plus, "l": BM25L}
WORDS = [f"w{i}" for i in range(40)]

corpora = st.lists(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=30), min_size=1, max_size=40
)
queries = st.lists(st.sampled_from([*WORDS, "absent"]), min_size=1, max_size=6)


def _expected(postings, ids: list[int], factor_by_doc, allowed_by_doc, k: int):  # type: ignore[no-untyped-def]
    """Every passage scored and sorted: the dense final scores, which passages match a term,
    and the k best scores among the matching, allowed ones."""
    dense = postings.scores(ids) * factor_by_doc
    matched = np.zeros(postings.n_docs, dtype=bool)
    for t in ids:
        matched[postings.postings(t)[0]] = True
    eligible = np.flatnonzero(matched & allowed_by_doc)
    return dense, matched, np.sort(dense[eligible])[::-1][:k]


def _postings(corpus: list[list[str]], params: BM25Params):
    vocab: dict[str, int] = {}
    ids = [vocab.setdefault(w, len(vocab)) for doc in corpus for w in doc]
    starts = np.cumsum([0] + [len(d) for d in corpus])
    postings, _ = build_postings(np.asarray(ids, dtype=np.int32), starts, len(vocab), params)
    return postings, vocab


@pytest.mark.parametrize("variant", ["okapi", "plus", "l"])
@settings(max_examples=60, deadline=None)
@given(
    corpus=corpora,
    query=queries,
    k1=st.floats(0.3, 3.0),
    b=st.floats(0.0, 1.0),
)
def test_scores_equal_rank_bm25(
    variant: str, corpus: list[list[str]], query: list[str], k1: float, b: float
) -> None:
    params = BM25Params(variant=variant, k1=k1, b=b)
    reference = RANK_BM25[variant](corpus, k1=k1, b=b).get_scores(query)
    postings, vocab = _postings(corpus, params)
    ours = postings.scores([vocab[t] for t in query if t in vocab])
    scale = max(1.0, float(np.abs(reference).max()))
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-5 * scale)


def test_okapi_floors_terms_in_most_passages_like_rank_bm25() -> None:
    corpus = [["common", "a"], ["common", "b"], ["common", "c"], ["common", "d"], ["e"], ["f"]]
    params = BM25Params(variant="okapi")
    reference = BM25Okapi(corpus, k1=params.k1, b=params.b, epsilon=params.epsilon).get_scores(
        ["common"]
    )
    postings, vocab = _postings(corpus, params)
    np.testing.assert_allclose(postings.scores([vocab["common"]]), reference, rtol=1e-6)
    assert (reference[:4] > 0).all()  # the epsilon floor, not the negative raw IDF


PARAMS = {
    "okapi": BM25Params(variant="okapi"),
    "plus": BM25Params(variant="plus"),
    "l": BM25Params(variant="l"),
    # Terms in most passages weigh exactly 0: a passage's sum no longer tells what it holds.
    "okapi, no floor": BM25Params(variant="okapi", epsilon=0),
}


@pytest.mark.parametrize("variant", list(PARAMS))
@pytest.mark.parametrize("regime", ["matching passages only", "every passage"])
@settings(max_examples=60, deadline=None)
@given(
    corpus=corpora,
    query=st.lists(st.sampled_from([*WORDS, "absent"]), min_size=1, max_size=20),
    k=st.integers(1, 12),
    weight=st.floats(0, 3),
    filtered=st.booleans(),
    stride=st.integers(1, 6),
)
def test_best_equals_a_full_sort_of_all_scores(
    variant: str,
    regime: str,
    corpus: list[list[str]],
    query: list[str],
    k: int,
    weight: float,
    filtered: bool,
    stride: int,
) -> None:
    """The product's search scores every posting of the question's terms: its k best are those
    of scoring every passage and sorting, with a recency prior and a filter or without, whether
    it works on the matching passages only or on every passage (with a sampled floor)."""
    import index.search.bm25 as bm25

    postings, vocab = _postings(corpus, PARAMS[variant])
    ids = [vocab[t] for t in query if t in vocab]
    if not ids:
        return
    rng = np.random.default_rng(len(corpus) * 31 + k)
    prior = 1 + weight * rng.random(postings.n_docs) if weight else None
    allowed = rng.random(postings.n_docs) > 0.3 if filtered else None
    dense, matched, expected = _expected(
        postings,
        ids,
        prior if prior is not None else np.ones(postings.n_docs),
        allowed if allowed is not None else np.ones(postings.n_docs, dtype=bool),
        k,
    )
    saved = bm25.SPARSE_FROM, bm25.SAMPLE_STRIDE
    bm25.SPARSE_FROM = 0 if regime == "matching passages only" else 10**9
    bm25.SAMPLE_STRIDE = stride
    try:
        docs, scores = postings.best(ids, k, prior=prior, allowed=allowed)
    finally:
        bm25.SPARSE_FROM, bm25.SAMPLE_STRIDE = saved
    np.testing.assert_allclose(scores, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dense[docs], scores, rtol=1e-6, atol=1e-9)
    assert len(set(docs.tolist())) == len(docs)
    assert matched[docs].all() and (allowed is None or allowed[docs].all())


@settings(max_examples=30, deadline=None)
@given(
    corpus=corpora,
    partition=st.integers(1, 25),
    chunk=st.integers(1, 40),
    scan=st.integers(1, 30),
)
def test_building_in_term_ranges_and_weighing_in_chunks_changes_nothing(
    corpus: list[list[str]], partition: int, chunk: int, scan: int
) -> None:
    """A million passages are sorted a range of terms at a time, their tokens scanned a slice
    at a time, and weighed a chunk at a time, to bound memory; the postings must be exactly
    those of one pass."""
    import index.search.bm25 as bm25

    whole, _ = _postings(corpus, BM25Params())
    saved = bm25.PARTITION_TOKENS, bm25.WEIGH_CHUNK, bm25.SCAN_SLICE
    bm25.PARTITION_TOKENS, bm25.WEIGH_CHUNK, bm25.SCAN_SLICE = partition, chunk, scan
    try:
        parts, _ = _postings(corpus, BM25Params())
    finally:
        bm25.PARTITION_TOKENS, bm25.WEIGH_CHUNK, bm25.SCAN_SLICE = saved
    for name in ("offsets", "docs", "tfs", "weights", "base", "term_max"):
        np.testing.assert_array_equal(getattr(parts, name), getattr(whole, name))
