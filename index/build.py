"""Building a snapshot from articles: chunk, analyze, weigh."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from index.analyzer import Analyzer, AnalyzerConfig
from index.bm25 import BM25Params, build_postings
from index.chunking import ChunkingConfig, chunk_text
from index.errors import EmptyCorpusError
from index.models import Article, Passage
from index.snapshot import Counts, Manifest, Snapshot, now

Progress = Callable[[int, int], None]


def build_snapshot(
    articles: Sequence[Article],
    *,
    chunking: ChunkingConfig | None = None,
    bm25: BM25Params | None = None,
    analyzer: AnalyzerConfig | None = None,
    progress: Progress | None = None,
) -> Snapshot:
    """Chunk and analyze every article and compute the BM25 weights of the result."""
    if not articles:
        raise EmptyCorpusError(
            "The sources hold no readable article, so there is nothing to index; "
            "add .txt, .md, .html or .jsonl files to a configured source."
        )
    chunking = chunking or ChunkingConfig()
    bm25 = bm25 or BM25Params()
    analyze = Analyzer(analyzer)
    vocab: dict[str, int] = {}
    passages: list[Passage] = []
    term_ids: list[int] = []
    starts = [0]
    for number, article in enumerate(articles):
        # The title goes with every passage: it names the subject a passage may only allude to.
        title_ids = [vocab.setdefault(t, len(vocab)) for t in analyze.terms(article.title)]
        for position, text in enumerate(chunk_text(article.text, chunking)):
            passages.append(Passage(article=number, position=position, text=text))
            term_ids.extend(title_ids)
            term_ids.extend(vocab.setdefault(t, len(vocab)) for t in analyze.terms(text))
            starts.append(len(term_ids))
        if progress:
            progress(number + 1, len(articles))
    postings, doc_len = build_postings(
        np.asarray(term_ids, dtype=np.int32),
        np.asarray(starts, dtype=np.int64),
        max(len(vocab), 1),
        bm25,
    )
    manifest = Manifest(
        created_at=now(),
        analyzer=analyze.config,
        bm25=bm25,
        chunking=chunking,
        counts=Counts(
            articles=len(articles),
            passages=len(passages),
            terms=max(len(vocab), 1),
            postings=len(postings.docs),
        ),
    )
    if not vocab:
        vocab = {"": 0}  # every word was a stopword; keep the matrix well-formed
    return Snapshot(
        manifest=manifest,
        analyzer=analyze,
        vocab=vocab,
        postings=postings,
        doc_len=doc_len,
        articles=[a.meta() for a in articles],
        passages=passages,
    )
