"""Building a snapshot: chunk and analyze articles (or take stored analyses), then weigh."""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlsplit

import numpy as np

from index.analyzer import Analyzer, AnalyzerConfig
from index.bm25 import BM25Params, build_postings
from index.chunking import ChunkingConfig, chunk_text
from index.errors import EmptyCorpusError
from index.models import Article, ArticleMeta
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
        self.n_articles = 0
        self._term_ids = array("i")
        self._passage_len = array("i")
        self._passage_article = array("i")
        self._passage_position = array("i")
        self._texts: list[bytes] = []
        self._article_lines: list[bytes] = []
        self._published = array("d")
        self._source = array("i")
        self._host = array("i")
        self._sources: dict[str, int] = {}
        self._hosts: dict[str, int] = {}

    def add(self, article: ArticleMeta, passages: Iterable[AnalyzedPassage]) -> None:
        number = self.n_articles
        self.n_articles += 1
        self._article_lines.append(article.model_dump_json().encode() + b"\n")
        self._published.append(article.published.timestamp() if article.published else math.nan)
        self._source.append(self._sources.setdefault(article.source.lower(), len(self._sources)))
        host = (urlsplit(article.url).hostname or "").lower() if article.url else ""
        self._host.append(self._hosts.setdefault(host, len(self._hosts)))
        vocab = self.vocab
        for position, (text, terms) in enumerate(passages):
            self._add_passage(
                number, position, text, [vocab.setdefault(t, len(vocab)) for t in terms]
            )

    def add_ids(
        self,
        article: ArticleMeta,
        passages: Iterable[tuple[str, np.ndarray]],
        local_vocab: list[str],
    ) -> None:
        """Like ``add`` for passages analyzed elsewhere: term ids into ``local_vocab``."""
        remap = np.fromiter(
            (self.vocab.setdefault(t, len(self.vocab)) for t in local_vocab),
            dtype=np.int32,
            count=len(local_vocab),
        )
        self.add(article, [])
        for position, (text, ids) in enumerate(passages):
            self._add_passage(
                self.n_articles - 1, position, text, remap[ids].tolist() if len(ids) else []
            )

    def _add_passage(self, article: int, position: int, text: str, ids: list[int]) -> None:
        self._passage_article.append(article)
        self._passage_position.append(position)
        self._texts.append(text.encode("utf-8"))
        self._term_ids.extend(ids)
        self._passage_len.append(len(ids))

    def finish(self) -> Snapshot:
        if not self.n_articles:
            raise EmptyCorpusError(
                "The sources hold no readable article, so there is nothing to index; "
                "add .txt, .md, .html or .jsonl files, feeds or URLs to the configured sources."
            )
        vocab = self.vocab or {"": 0}  # every word was a stopword; keep the matrix well-formed
        starts = np.zeros(len(self._passage_len) + 1, dtype=np.int64)
        np.cumsum(np.frombuffer(self._passage_len, dtype=np.int32), out=starts[1:])
        postings, doc_len = build_postings(
            np.frombuffer(self._term_ids, dtype=np.int32), starts, len(vocab), self.bm25
        )
        n_passages = len(self._passage_len)
        manifest = Manifest(
            created_at=now(),
            analyzer=self.analyzer.config,
            bm25=self.bm25,
            chunking=self.chunking,
            counts=Counts(
                articles=self.n_articles,
                passages=n_passages,
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
            passage_article=np.frombuffer(self._passage_article, dtype=np.int32),
            passage_position=np.frombuffer(self._passage_position, dtype=np.int32),
            text_offsets=_offsets(self._texts),
            texts=b"".join(self._texts),
            article_lines=b"".join(self._article_lines),
            article_offsets=_offsets(self._article_lines),
            article_published=np.frombuffer(self._published, dtype=np.float64),
            article_source=np.frombuffer(self._source, dtype=np.int32),
            article_host=np.frombuffer(self._host, dtype=np.int32),
            sources=list(self._sources),
            hosts=list(self._hosts),
        )


def _offsets(chunks: list[bytes]) -> np.ndarray:
    offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, chunks), dtype=np.int64, count=len(chunks)), out=offsets[1:])
    return offsets


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
