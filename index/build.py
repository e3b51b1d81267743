"""Building a snapshot: chunk and analyze articles (or take stored analyses), then weigh."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from index.analyzer import Analyzer, AnalyzerConfig
from index.bm25 import BM25Params, build_postings
from index.chunking import ChunkingConfig, chunk_text
from index.errors import EmptyCorpusError
from index.models import Article, ArticleMeta, Passage
from index.snapshot import Counts, Manifest, Snapshot, now

Progress = Callable[[int, int], None]
AnalyzedPassage = tuple[str, list[str]]  # passage text, its terms (title terms included)


def analysis_fingerprint(analyzer: AnalyzerConfig, chunking: ChunkingConfig) -> str:
    """Names everything that shapes stored passages: change any of it and they are redone."""
    text = analyzer.model_dump_json() + chunking.model_dump_json()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def analyze_article(
    article: Article, analyzer: Analyzer, chunking: ChunkingConfig
) -> list[AnalyzedPassage]:
    # The title goes with every passage: it names the subject a passage may only allude to.
    title_terms = analyzer.terms(article.title)
    return [
        (text, title_terms + analyzer.terms(text)) for text in chunk_text(article.text, chunking)
    ]


class SnapshotBuilder:
    """Collects analyzed articles, then computes the BM25 weights of all of them at once."""

    def __init__(self, analyzer: Analyzer, chunking: ChunkingConfig, bm25: BM25Params) -> None:
        self.analyzer, self.chunking, self.bm25 = analyzer, chunking, bm25
        self.vocab: dict[str, int] = {}
        self.articles: list[ArticleMeta] = []
        self.passages: list[Passage] = []
        self._term_ids: list[int] = []
        self._starts = [0]

    def add(self, article: ArticleMeta, passages: Iterable[AnalyzedPassage]) -> None:
        number = len(self.articles)
        self.articles.append(article)
        vocab = self.vocab
        for position, (text, terms) in enumerate(passages):
            self.passages.append(Passage(article=number, position=position, text=text))
            self._term_ids.extend(vocab.setdefault(t, len(vocab)) for t in terms)
            self._starts.append(len(self._term_ids))

    def finish(self) -> Snapshot:
        if not self.articles:
            raise EmptyCorpusError(
                "The sources hold no readable article, so there is nothing to index; "
                "add .txt, .md, .html or .jsonl files, feeds or URLs to the configured sources."
            )
        vocab = self.vocab or {"": 0}  # every word was a stopword; keep the matrix well-formed
        postings, doc_len = build_postings(
            np.asarray(self._term_ids, dtype=np.int32),
            np.asarray(self._starts, dtype=np.int64),
            len(vocab),
            self.bm25,
        )
        manifest = Manifest(
            created_at=now(),
            analyzer=self.analyzer.config,
            bm25=self.bm25,
            chunking=self.chunking,
            counts=Counts(
                articles=len(self.articles),
                passages=len(self.passages),
                terms=len(vocab),
                postings=len(postings.docs),
            ),
        )
        return Snapshot(
            manifest=manifest,
            analyzer=self.analyzer,
            vocab=vocab,
            postings=postings,
            doc_len=doc_len,
            articles=self.articles,
            passages=self.passages,
        )


def build_snapshot(
    articles: Sequence[Article],
    *,
    chunking: ChunkingConfig | None = None,
    bm25: BM25Params | None = None,
    analyzer: AnalyzerConfig | None = None,
    progress: Progress | None = None,
) -> Snapshot:
    """Chunk and analyze every article and compute the BM25 weights of the result."""
    chunking = chunking or ChunkingConfig()
    builder = SnapshotBuilder(Analyzer(analyzer), chunking, bm25 or BM25Params())
    for number, article in enumerate(articles, start=1):
        builder.add(article.meta(), analyze_article(article, builder.analyzer, chunking))
        if progress:
            progress(number, len(articles))
    return builder.finish()
