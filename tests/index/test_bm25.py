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


@pytest.mark.parametrize("variant", ["okapi", "plus"])
@settings(max_examples=80, deadline=None)
@given(
    corpus=corpora,
    # Up to 20 terms: long questions take the one-pass path, short ones the pruned one.
    query=st.lists(st.sampled_from([*WORDS, "absent"]), min_size=1, max_size=20),
    k=st.integers(1, 12),
    weight=st.floats(0, 3),
)
def test_top_k_equals_a_full_sort_of_all_scores(
    variant: str, corpus: list[list[str]], query: list[str], k: int, weight: float
) -> None:
    """MaxScore skips work, never results: the same top k as scoring every passage and sorting,
    whether the question is pruned or (long, past MAX_PRUNED_TERMS) scored in one pass."""
    import index.search.bm25 as bm25

    saved = bm25.MAX_PRUNED_TERMS
    bm25.MAX_PRUNED_TERMS = 8
    try:
        _check_top_k(variant, corpus, query, k, weight)
    finally:
        bm25.MAX_PRUNED_TERMS = saved


def _check_top_k(
    variant: str, corpus: list[list[str]], query: list[str], k: int, weight: float
) -> None:
    postings, vocab = _postings(corpus, BM25Params(variant=variant))
    ids = [vocab[t] for t in query if t in vocab]
    if not ids:
        return
    rng = np.random.default_rng(len(corpus) * 31 + k)
    factor_by_doc = 1 + weight * rng.random(postings.n_docs)  # a recency-like prior per passage
    allowed_by_doc = rng.random(postings.n_docs) > 0.2
    dense, matched, expected = _expected(postings, ids, factor_by_doc, allowed_by_doc, k)
    docs, scores = postings.top_k(
        ids,
        k,
        allowed=lambda d: allowed_by_doc[d],
        factor=lambda d: factor_by_doc[d],
        factor_max=1 + weight,
    )
    np.testing.assert_allclose(scores, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dense[docs], scores, rtol=1e-6, atol=1e-9)
    # Without a filter (the product's usual search), long questions take the one-pass path.
    everything = np.sort(dense[np.flatnonzero(matched)])[::-1][:k]
    docs, scores = postings.top_k(ids, k, factor=lambda d: factor_by_doc[d], factor_max=1 + weight)
    np.testing.assert_allclose(scores, everything, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dense[docs], scores, rtol=1e-6, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(corpus=corpora, partition=st.integers(1, 25), chunk=st.integers(1, 40))
def test_building_in_term_ranges_and_weighing_in_chunks_changes_nothing(
    corpus: list[list[str]], partition: int, chunk: int
) -> None:
    """A million passages are sorted a range of terms at a time and weighed a chunk at a time,
    to bound memory; the postings must be exactly those of one pass."""
    import index.search.bm25 as bm25

    whole, _ = _postings(corpus, BM25Params())
    saved = bm25.PARTITION_TOKENS, bm25.WEIGH_CHUNK
    bm25.PARTITION_TOKENS, bm25.WEIGH_CHUNK = partition, chunk
    try:
        parts, _ = _postings(corpus, BM25Params())
    finally:
        bm25.PARTITION_TOKENS, bm25.WEIGH_CHUNK = saved
    for name in ("offsets", "docs", "tfs", "weights", "base", "term_max"):
        np.testing.assert_array_equal(getattr(parts, name), getattr(whole, name))


@settings(max_examples=80, deadline=None)
@given(
    corpus=corpora,
    query=st.lists(st.sampled_from([*WORDS, "absent"]), min_size=1, max_size=14),
    k=st.integers(1, 12),
    weight=st.floats(0, 3),
    share=st.floats(0, 1),
)
def test_top_k_with_the_newest_passages_scored_first_equals_a_full_sort(
    corpus: list[list[str]], query: list[str], k: int, weight: float, share: float
) -> None:
    """The product's search: the newest passages, lifted most by the prior, are scored up
    front, and the rest of the archive is pruned under the smaller factor they can get."""
    postings, vocab = _postings(corpus, BM25Params())
    ids = [vocab[t] for t in query if t in vocab]
    if not ids:
        return
    rng = np.random.default_rng(len(corpus) * 17 + k)
    boosted_mask = rng.random(postings.n_docs) < share
    factor_by_doc = np.where(
        boosted_mask,
        1 + weight * rng.random(postings.n_docs),
        1 + 0.1 * weight * rng.random(postings.n_docs),
    )
    others_max = float(factor_by_doc[~boosted_mask].max()) if (~boosted_mask).any() else 1.0
    allowed_by_doc = rng.random(postings.n_docs) > 0.2
    dense, _, expected = _expected(postings, ids, factor_by_doc, allowed_by_doc, k)
    docs, scores = postings.top_k(
        ids,
        k,
        allowed=lambda d: allowed_by_doc[d],
        factor=lambda d: factor_by_doc[d],
        factor_max=1 + weight,
        boosted=np.flatnonzero(boosted_mask),
        others_factor_max=others_max,
    )
    np.testing.assert_allclose(scores, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dense[docs], scores, rtol=1e-6, atol=1e-9)
    assert len(set(docs.tolist())) == len(docs)
