"""Building a snapshot: chunk and analyze articles (or take stored analyses), then weigh."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import multiprocessing
import os
import re
import uuid
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from pathlib import Path
from typing import BinaryIO

import numpy as np

from index.errors import EmptyCorpusError
from index.ingest.chunking import CHUNKING_VERSION, ChunkingConfig, cut_text
from index.models import Article, ArticleMeta
from index.search.acronyms import AcronymLearner, learn_acronyms
from index.search.analyzed import STORED_FORM, AnalyzedArticle
from index.search.analyzer import Analyzer, AnalyzerConfig
from index.search.blob import Blob, Part, map_file, spans_of, tidied
from index.search.bm25 import (
    BM25Params,
    Postings,
    count_postings,
    interleave,
    unweighed,
    weigh,
    with_tail,
)
from index.search.snapshot import Counts, Manifest, Snapshot, now
from index.workers import PARALLEL_FROM, map_in_batches, release_free_memory

Progress = Callable[[int, int], None]


# The title goes with every passage, counted twice: it names the subject a passage may only
# allude to, in the outlet's fewest words (measured in docs/quality.md: once, twice, three times).
TITLE_REPEATS = 2


def analysis_fingerprint(analyzer: AnalyzerConfig, chunking: ChunkingConfig) -> str:
    """Names everything that shapes stored passages: change any of it and they are redone."""
    text = (
        f"chunking v{CHUNKING_VERSION}, title x{TITLE_REPEATS}, stored form {STORED_FORM}"
        + analyzer.model_dump_json()
        + chunking.model_dump_json()
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def analyze_article(
    article: Article, analyzer: Analyzer, chunking: ChunkingConfig
) -> AnalyzedArticle:
    title_terms = analyzer.terms(article.title) * TITLE_REPEATS
    cut = cut_text(article.text, chunking)
    # Each sentence is analyzed once, though overlapping passages share it.
    sentence_terms = list(map(analyzer.terms_of_words, cut.sentence_words))
    return AnalyzedArticle.of(
        [
            (text, title_terms + list(chain.from_iterable(sentence_terms[start:end])))
            for text, (start, end) in zip(cut.passages, cut.spans, strict=True)
        ]
    )


class SnapshotBuilder:
    """Collects analyzed articles, then computes the BM25 weights of all of them at once."""

    def __init__(
        self,
        analyzer: Analyzer,
        chunking: ChunkingConfig,
        bm25: BM25Params,
        spill: Path | None = None,
    ) -> None:
        """With ``spill`` (a folder on the index's file system), passage texts are written
        there as they come instead of being held in memory: the largest part of an archive's
        index (1.7 GB at a million passages) then never sits in memory, and the snapshot's save
        links the file instead of writing it again."""
        self.analyzer, self.chunking, self.bm25 = analyzer, chunking, bm25
        self._spill: BinaryIO | None = None
        self._spill_path: Path | None = None
        self._spill_hash = hashlib.sha256()
        self._acronyms = AcronymLearner()
        if spill is not None:
            self._spill_path = spill / f"passages-{uuid.uuid4().hex}.txt"
            self._spill = open(self._spill_path, "wb")  # noqa: SIM115 (closed by finish)
        self.vocab: dict[str, int] = {}
        self.n_articles = 0
        self._term_ids = array("i")
        self._passage_len = array("i")
        self._passage_article = array("i")
        self._passage_position = array("i")
        self._texts: list[bytes] = []  # passage texts, or blobs of them, in order
        self._text_lengths = array("q")
        self._lines: list[bytes] = []  # article JSON lines, or blobs of them, in order
        self._line_lengths = array("q")
        self._published = array("d")
        self._source = array("i")
        self._host = array("i")
        self._origin = array("i")
        self._sources: dict[str, int] = {}
        self._hosts: dict[str, int] = {}
        self._origins: dict[str, int] = {}
        self._mapped_vocab: Sequence[str] = ()
        self._mapped = np.zeros(0, dtype=np.int32)

    def add(self, article: ArticleMeta, analyzed: AnalyzedArticle) -> None:
        number = self.n_articles
        self._add_article(*article_fields(article))
        n = len(analyzed)
        if analyzed.text:
            self._put_text(analyzed.text)
        self._text_lengths.frombytes(analyzed.text_lengths.astype(np.int64).tobytes())
        self._passage_article.frombytes(np.full(n, number, dtype=np.int32).tobytes())
        self._passage_position.frombytes(np.arange(n, dtype=np.int32).tobytes())
        self._term_ids.frombytes(self._mapping(analyzed.vocab)[analyzed.ids].tobytes())
        self._passage_len.frombytes(analyzed.term_counts.astype(np.int32).tobytes())

    def _mapping(self, vocab: Sequence[str]) -> np.ndarray:
        """Global ids of ``vocab``'s terms. A vocabulary shared by many articles (the store's,
        in a rebuild) is mapped once, and again only for the terms it gained since."""
        if vocab is not self._mapped_vocab:
            self._mapped_vocab, self._mapped = vocab, np.zeros(0, dtype=np.int32)
        if len(self._mapped) < len(vocab):
            more = self._ids(vocab[len(self._mapped) :]).astype(np.int32)
            self._mapped = np.concatenate([self._mapped, more])
        return self._mapped

    def add_chunk(self, chunk: AnalyzedChunk) -> None:
        """Add articles analyzed in another process: their term ids point into ``chunk.vocab``."""
        remap = self._ids(chunk.vocab).astype(np.int32)
        first = self.n_articles
        for fields in zip(
            chunk.lines, chunk.published, chunk.sources, chunk.hosts, chunk.origins, strict=True
        ):
            self._add_article(*fields)
        counts = chunk.passages_per_article
        self._passage_article.frombytes(
            np.repeat(np.arange(first, self.n_articles, dtype=np.int32), counts).tobytes()
        )
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        self._passage_position.frombytes(
            (np.arange(int(counts.sum())) - starts).astype(np.int32).tobytes()
        )
        self._put_text(chunk.text_blob)
        self._text_lengths.frombytes(chunk.text_lengths.astype(np.int64).tobytes())
        self._term_ids.frombytes(remap[chunk.ids].tobytes())
        self._passage_len.frombytes(chunk.lengths.astype(np.int32).tobytes())

    def _put_text(self, data: bytes) -> None:
        if self._spill is None:
            self._texts.append(data)
        else:
            self._spill.write(data)
            self._spill_hash.update(data)
            self._acronyms.add(data)  # reading the file back would page all of it in

    def _finished_texts(self) -> tuple[Blob, dict[str, str]]:
        """The passage texts and the acronyms they define."""
        if self._spill is None or self._spill_path is None:
            # Kept as pieces, never joined: a joined copy would double the texts in memory.
            return Blob.of(self._texts), learn_acronyms(self._texts)
        self._spill.flush()
        os.fsync(self._spill.fileno())
        self._spill.close()
        self._spill = None
        data = map_file(self._spill_path)
        part = Part(
            pieces=[data], size=len(data), file=self._spill_path,
            checksum=self._spill_hash.hexdigest(),
        )  # fmt: skip
        return Blob([part]), self._acronyms.learned()

    def _ids(self, terms: Sequence[str]) -> np.ndarray:
        """Global ids of terms, new ones appended in order; lookups run in C, only new terms in Python."""
        vocab = self.vocab
        found = np.fromiter(
            map(vocab.get, terms, repeat(-1, len(terms))), dtype=np.int64, count=len(terms)
        )
        for i in np.flatnonzero(found < 0).tolist():
            found[i] = vocab.setdefault(terms[i], len(vocab))
        return found

    def _add_article(
        self, line: bytes, published: float, source: str, host: str, origin: str
    ) -> None:
        self.n_articles += 1
        self._lines.append(line)
        self._line_lengths.append(len(line))
        self._published.append(published)
        self._source.append(self._sources.setdefault(source, len(self._sources)))
        self._host.append(self._hosts.setdefault(host, len(self._hosts)))
        self._origin.append(self._origins.setdefault(origin, len(self._origins)))

    def finish(self, *, weighed: bool = True) -> Snapshot:
        """The snapshot of everything added. Without ``weighed``, its weights are left out for
        a caller that removes articles next and weighs what remains (``replace_articles``):
        computing them twice would also hold both sets in memory."""
        if not self.n_articles:
            raise EmptyCorpusError(
                "The sources hold no readable article, so there is nothing to index; "
                "add .txt, .md, .html or .jsonl files, feeds or URLs to the configured sources."
            )
        vocab = self.vocab or {"": 0}  # every word was a stopword; keep the matrix well-formed
        release_free_memory()  # the collecting phase's freed blocks, before the largest arrays
        starts = np.zeros(len(self._passage_len) + 1, dtype=np.int64)
        np.cumsum(np.frombuffer(self._passage_len, dtype=np.int32), out=starts[1:])
        terms = np.frombuffer(self._term_ids, dtype=np.int32)
        offsets, docs, tfs, doc_len = count_postings(terms, starts, len(vocab))
        del terms
        self._term_ids = array("i")  # freed before weighing: it is the build's largest array
        if weighed:
            postings = weigh(offsets, docs, tfs, doc_len, self.bm25)
        else:
            postings = unweighed(offsets, docs, tfs, len(doc_len), len(vocab))
        manifest = Manifest(
            created_at=now(),
            analyzer=self.analyzer.config,
            bm25=self.bm25,
            chunking=self.chunking,
            counts=Counts(
                articles=self.n_articles,
                passages=len(self._passage_len),
                terms=len(vocab),
                postings=len(postings.docs),
            ),
        )
        texts, aliases = self._finished_texts()
        return Snapshot(
            manifest=manifest,
            analyzer=self.analyzer,
            vocab=vocab,
            postings=postings,
            doc_len=doc_len,
            passage_article=np.frombuffer(self._passage_article, dtype=np.int32),
            passage_position=np.frombuffer(self._passage_position, dtype=np.int32),
            text_spans=_spans(self._text_lengths),
            texts=texts,
            aliases=aliases,
            article_lines=Blob.of(self._lines),
            article_spans=_spans(self._line_lengths),
            article_published=np.frombuffer(self._published, dtype=np.float64),
            article_source=np.frombuffer(self._source, dtype=np.int32),
            article_host=np.frombuffer(self._host, dtype=np.int32),
            article_origin=np.frombuffer(self._origin, dtype=np.int32),
            sources=list(self._sources),
            hosts=list(self._hosts),
            origins=list(self._origins),
        )


def article_fields(article: ArticleMeta) -> tuple[bytes, float, str, str, str]:
    """What the index stores per article: its JSON line, date, outlet key, host and the
    source that brought it."""
    host = url_host(article.url) if article.url else ""
    published = article.published.timestamp() if article.published else math.nan
    line = article.model_dump_json(include=set(ArticleMeta.model_fields)).encode() + b"\n"
    return line, published, article.source.lower(), host, article.via


def url_host(url: str) -> str:
    """The lower-cased host of a URL, without port or user; urlsplit is slow for a million."""
    rest = url.partition("://")[2] or url
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = netloc.rpartition("@")[2]
    if host.startswith("["):
        return host.partition("]")[0][1:].lower()
    return host.partition(":")[0].lower()


def _spans(lengths: array, start: int = 0) -> np.ndarray:  # type: ignore[type-arg]
    return spans_of(np.frombuffer(lengths, dtype=np.int64), start)


CHUNK = 10_000


def build_snapshot(
    articles: Sequence[Article],
    *,
    chunking: ChunkingConfig | None = None,
    bm25: BM25Params | None = None,
    analyzer: AnalyzerConfig | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> Snapshot:
    """Chunk and analyze every article, on every core for large corpora, and weigh the result."""
    chunking = chunking or ChunkingConfig()
    builder = SnapshotBuilder(Analyzer(analyzer), chunking, bm25 or BM25Params())
    workers = workers or os.cpu_count() or 1
    if workers > 1 and len(articles) >= PARALLEL_FROM:
        global _shared
        ranges = [(i, min(i + CHUNK, len(articles))) for i in range(0, len(articles), CHUNK)]
        forking = "fork" in multiprocessing.get_all_start_methods()
        # Forked workers read the articles the parent already holds: nothing is pickled to them.
        _shared = articles if forking else None
        jobs = ranges if forking else [articles[a:b] for a, b in ranges]
        context = multiprocessing.get_context("fork" if forking else "spawn")
        try:
            with context.Pool(
                workers,
                initializer=init_analysis_worker,
                initargs=(builder.analyzer.config, chunking),
            ) as pool:
                for (_start, end), analyzed in zip(
                    ranges, pool.imap(_analyze_chunk, jobs), strict=True
                ):
                    builder.add_chunk(analyzed)
                    if progress:
                        progress(end, len(articles))
        finally:
            _shared = None
        return builder.finish()
    for number, article in enumerate(articles, start=1):
        builder.add(article, analyze_article(article, builder.analyzer, chunking))
        if progress:
            progress(number, len(articles))
    return builder.finish()


@dataclass
class AnalyzedChunk:
    """Articles analyzed by a worker, in the compact form the builder appends in bulk."""

    lines: list[bytes]
    published: list[float]
    sources: list[str]
    hosts: list[str]
    origins: list[str]
    passages_per_article: np.ndarray
    text_blob: bytes
    text_lengths: np.ndarray
    lengths: np.ndarray  # terms per passage
    ids: np.ndarray  # all passages' term ids, back to back, into ``vocab``
    vocab: list[str]


_worker: tuple[Analyzer, ChunkingConfig] | None = None
_shared: Sequence[Article] | None = None


def init_analysis_worker(config: AnalyzerConfig, chunking: ChunkingConfig) -> None:
    """A worker process's analyzer (or this process's, when the work stays here)."""
    global _worker
    _worker = (Analyzer(config), chunking)


def analyze_in_worker(article: Article) -> AnalyzedArticle:
    assert _worker is not None
    return analyze_article(article, *_worker)


def analyze_in_parallel(
    articles: Iterable[Article],
    analyzer: Analyzer,
    chunking: ChunkingConfig,
    batch: int = 2000,
    workers: int | None = None,
) -> Iterator[list[tuple[Article, AnalyzedArticle]]]:
    """Articles chunked and analyzed, ``batch`` at a time, on every core when there are enough
    of them: for a caller that stores each batch before the next (the reindex path)."""
    return map_in_batches(
        analyze_in_worker,
        articles,
        batch=batch,
        workers=workers,
        initializer=init_analysis_worker,
        initargs=(analyzer.config, chunking),
    )


def _analyze_chunk(job: tuple[int, int] | Sequence[Article]) -> AnalyzedChunk:
    assert _worker is not None
    analyzer, chunking = _worker
    if isinstance(job, tuple):
        assert _shared is not None
        articles: Sequence[Article] = _shared[job[0] : job[1]]
    else:
        articles = job
    vocab: dict[str, int] = {}
    chunk = AnalyzedChunk(
        [], [], [], [], [], np.zeros(0), b"", np.zeros(0), np.zeros(0), np.zeros(0), []
    )
    per_article, texts = array("i"), []
    text_lengths, lengths, ids = array("i"), array("i"), array("i")
    for article in articles:
        line, published, source, host, origin = article_fields(article)
        chunk.lines.append(line)
        chunk.published.append(published)
        chunk.sources.append(source)
        chunk.hosts.append(host)
        chunk.origins.append(origin)
        analyzed = analyze_article(article, analyzer, chunking)
        per_article.append(len(analyzed))
        texts.append(analyzed.text)
        text_lengths.frombytes(analyzed.text_lengths.astype(np.int32).tobytes())
        # An article's vocabulary is in order of first use: ids as one core assigns them.
        for term in analyzed.vocab:
            vocab.setdefault(term, len(vocab))
        local = np.fromiter(
            map(vocab.__getitem__, analyzed.vocab), dtype=np.int32, count=len(analyzed.vocab)
        )
        ids.frombytes(local[analyzed.ids].tobytes())
        lengths.frombytes(analyzed.term_counts.astype(np.int32).tobytes())
    chunk.passages_per_article = np.frombuffer(per_article, dtype=np.int32).copy()
    chunk.text_blob = b"".join(texts)
    chunk.text_lengths = np.frombuffer(text_lengths, dtype=np.int32).astype(np.int64)
    chunk.lengths = np.frombuffer(lengths, dtype=np.int32).copy()
    chunk.ids = np.frombuffer(ids, dtype=np.int32).copy()
    chunk.vocab = list(vocab)
    return chunk


def analyze_articles(
    snapshot: Snapshot, articles: Iterable[Article]
) -> list[tuple[ArticleMeta, AnalyzedArticle]]:
    """New articles chunked and analyzed the way ``snapshot`` was."""
    chunking = snapshot.manifest.chunking
    return [(a.meta(), analyze_article(a, snapshot.analyzer, chunking)) for a in articles]


def extend_snapshot(
    snapshot: Snapshot,
    analyzed: Iterable[tuple[ArticleMeta, AnalyzedArticle]],
    *,
    segmented: bool = True,
) -> Snapshot:
    """The snapshot with analyzed articles added, without re-analyzing what it holds.

    A few added passages become the index's tail (see ``bm25.Tail``): they alone are weighed
    and written, with today's IDF and the base's average passage length. Past a share of the
    base (or ``segmented=False``), every weight is recomputed from the stored term counts and
    the scores equal those of a full rebuild of old plus new.
    """
    analyzed = list(analyzed)
    gone = snapshot.article_gone
    if gone is not None and analyzed and not (segmented and adds_as_tail(snapshot, analyzed)):
        # The base is weighed again: the gone articles leave it now.
        snapshot, segmented = _without(snapshot, snapshot.article_gone), False
    manifest = snapshot.manifest
    builder = SnapshotBuilder(snapshot.analyzer, manifest.chunking, manifest.bm25)
    builder.vocab = dict(snapshot.vocab)
    builder._sources = {name: i for i, name in enumerate(snapshot.sources)}
    builder._hosts = {name: i for i, name in enumerate(snapshot.hosts)}
    builder._origins = {name: i for i, name in enumerate(snapshot.origins)}
    builder.n_articles = manifest.counts.articles
    for meta, article in analyzed:
        builder.add(meta, article)
    added = builder.n_articles - manifest.counts.articles
    if not added:
        return snapshot
    return _with_added(snapshot, builder, segmented)


def _with_added(snapshot: Snapshot, builder: SnapshotBuilder, segmented: bool) -> Snapshot:
    manifest = snapshot.manifest
    added = builder.n_articles - manifest.counts.articles
    old = snapshot.postings
    n_terms = len(builder.vocab)
    new_lengths = np.frombuffer(builder._passage_len, dtype=np.int32)
    new_starts = np.zeros(len(new_lengths) + 1, dtype=np.int64)
    np.cumsum(new_lengths, out=new_starts[1:])
    new = _new_postings(np.frombuffer(builder._term_ids, dtype=np.int32), new_starts, old.n_docs)
    doc_len = np.concatenate([snapshot.doc_len, new_lengths])
    if segmented and _tail_fits(old, doc_len):
        tail = old.tail
        offsets, docs, tfs = interleave(
            *(
                (tail.offsets, tail.docs, tail.tfs)
                if tail is not None
                else (np.zeros(1, dtype=np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32))
            ),
            *new,
            n_terms,
        )
        postings = with_tail(old, offsets, docs, tfs, doc_len, manifest.bm25)
        n_postings = len(old.docs) + len(docs)
    else:
        offsets, docs, tfs = interleave(*old.flat(), *new, n_terms)
        postings = weigh(offsets, docs, tfs, doc_len, manifest.bm25)
        n_postings = len(docs)
    counts = Counts(
        articles=builder.n_articles,
        passages=len(doc_len),
        terms=n_terms,
        postings=n_postings,
    )
    texts, text_spans = tidied(
        snapshot.texts.plus(builder._texts),
        np.concatenate([snapshot.text_spans, _spans(builder._text_lengths, len(snapshot.texts))]),
    )
    lines, line_spans = tidied(
        snapshot.article_lines.plus(builder._lines),
        np.concatenate(
            [snapshot.article_spans, _spans(builder._line_lengths, len(snapshot.article_lines))]
        ),
    )
    return Snapshot(
        manifest=manifest.model_copy(update={"created_at": now(), "counts": counts, "files": {}}),
        analyzer=snapshot.analyzer,
        vocab=builder.vocab,
        postings=postings,
        doc_len=doc_len,
        passage_article=np.concatenate(
            [snapshot.passage_article, np.frombuffer(builder._passage_article, dtype=np.int32)]
        ),
        passage_position=np.concatenate(
            [snapshot.passage_position, np.frombuffer(builder._passage_position, dtype=np.int32)]
        ),
        # The old texts stay where they are (a new snapshot links their files); the new ones
        # become a part of their own.
        text_spans=text_spans,
        texts=texts,
        article_lines=lines,
        article_spans=line_spans,
        article_published=np.concatenate(
            [snapshot.article_published, np.frombuffer(builder._published, dtype=np.float64)]
        ),
        article_source=np.concatenate(
            [snapshot.article_source, np.frombuffer(builder._source, dtype=np.int32)]
        ),
        article_host=np.concatenate(
            [snapshot.article_host, np.frombuffer(builder._host, dtype=np.int32)]
        ),
        article_origin=np.concatenate(
            [snapshot.article_origin, np.frombuffer(builder._origin, dtype=np.int32)]
        ),
        sources=list(builder._sources),
        hosts=list(builder._hosts),
        origins=list(builder._origins),
        # Only the new passages are read; a definition the index already knew keeps its form.
        aliases={**learn_acronyms(builder._texts), **snapshot.aliases},
        article_gone=(
            np.concatenate([snapshot.article_gone, np.zeros(added, dtype=bool)])
            if snapshot.article_gone is not None
            else None
        ),
        loaded=snapshot.loaded,
    )


def article_ids(snapshot: Snapshot) -> list[str]:
    """Every article's id, in index order, read from the metadata lines without parsing them
    whole (each line starts with its id, see ``article_fields``)."""
    # One regex pass over each part (in C), then a lookup per article by where its line starts;
    # lines of removed articles are found too, and skipped.
    found: dict[int, bytes] = {}
    position = 0
    for piece in snapshot.article_lines.chunks():
        first = _ID_FIELD.match(piece)
        if first:
            found[position] = first.group(1)
        for match in _LINE_ID.finditer(piece):
            found[position + match.start() + 1] = match.group(1)
        position += len(piece)
    return [
        _json_string(found.get(start, b'""')) for start in snapshot.article_spans[:, 0].tolist()
    ]


def _json_string(raw: bytes) -> str:
    return raw[1:-1].decode() if b"\\" not in raw else json.loads(raw)


_ID_FIELD = re.compile(rb'\{"id":("(?:[^"\\]|\\.)*")')
# The same after a line break: a literal start lets the search skip ahead, where "^" in
# MULTILINE mode was tried at every byte (0.7 s, now 0.2, over 165k articles' lines).
_LINE_ID = re.compile(b"\n" + _ID_FIELD.pattern)


def replace_articles(
    snapshot: Snapshot,
    removed: Iterable[int],
    analyzed: Iterable[tuple[ArticleMeta, AnalyzedArticle]],
    *,
    mark: bool = True,
) -> Snapshot:
    """The snapshot without the articles at the ``removed`` indexes and with ``analyzed`` ones
    added: what a refresh that updates or drops a few articles needs, without re-reading the
    others.

    A few removals are only marked (``Snapshot.article_gone``) and the additions become the
    tail: nothing of the base is rewritten, and the BM25 statistics keep counting the gone
    passages, as Lucene's deleted documents do, until the tail is merged. Past GONE_SHARE of
    the articles, when the additions cannot stay a tail, or without ``mark`` (a first build,
    not weighed yet, that read an article twice), the gone articles leave and every weight is
    recomputed from the stored counts: scores then equal a full rebuild's."""
    analyzed = list(analyzed)
    gone = gone_with(snapshot, removed)
    if not gone.any():
        return extend_snapshot(snapshot, analyzed)
    if mark and keeps_base(snapshot, gone, analyzed):
        marked = dataclasses.replace(
            snapshot,
            manifest=snapshot.manifest.model_copy(update={"gone": int(gone.sum()), "files": {}}),
            article_gone=gone,
        )
        return extend_snapshot(marked, analyzed)
    kept = _without(snapshot, gone)
    # After removals every weight is stale: the additions are weighed with the rest, no tail.
    grown = extend_snapshot(kept, analyzed, segmented=False)
    if grown is kept:  # nothing added: weigh the smaller corpus
        postings = weigh(
            kept.postings.offsets, kept.postings.docs, kept.postings.tfs, kept.doc_len,
            kept.manifest.bm25,
        )  # fmt: skip
        return dataclasses.replace(kept, postings=postings)
    return grown


def gone_with(snapshot: Snapshot, removed: Iterable[int]) -> np.ndarray:
    """Per article, whether it is gone once the articles at the ``removed`` indexes are."""
    gone = np.zeros(snapshot.manifest.counts.articles, dtype=bool)
    gone[np.fromiter(removed, dtype=np.int64)] = True
    if snapshot.article_gone is not None:
        gone |= snapshot.article_gone
    return gone


def keeps_base(
    snapshot: Snapshot, gone: np.ndarray, analyzed: Sequence[tuple[ArticleMeta, AnalyzedArticle]]
) -> bool:
    """Whether ``replace_articles`` leaves the base's postings as they are: the ``gone``
    articles few enough to be only marked, and the additions a tail."""
    return int(gone.sum()) <= GONE_SHARE * len(gone) and adds_as_tail(snapshot, analyzed)


GONE_SHARE = 0.1  # of the articles, marked gone before they are taken out of the postings


def _without(snapshot: Snapshot, gone: np.ndarray) -> Snapshot:
    """The snapshot less the articles marked ``gone``, renumbered; weights are left stale for
    the caller to recompute."""
    keep_article = ~gone
    keep_passage = keep_article[snapshot.passage_article]
    article_index = np.cumsum(keep_article) - 1
    passage_index = (np.cumsum(keep_passage) - 1).astype(np.int32)
    old = snapshot.postings
    old_offsets, old_docs, old_tfs = old.flat()  # a tail is merged into the base
    keep_posting = keep_passage[old_docs]
    # A term's kept postings stay contiguous and in order; its offset moves back by the
    # postings removed before it (counted from the few removed, not a sum over every posting).
    gone_at = np.flatnonzero(~keep_posting)
    gone_per_term = np.bincount(
        np.searchsorted(old_offsets, gone_at, side="right") - 1, minlength=len(old_offsets) - 1
    )
    offsets = old_offsets.astype(np.int64, copy=True)
    offsets[1:] -= np.cumsum(gone_per_term)
    del gone_at
    docs = old_docs[keep_posting]
    np.take(passage_index, docs, out=docs)  # renumbered in place: one array, not two
    tfs = old_tfs[keep_posting]
    doc_len = snapshot.doc_len[keep_passage]
    # Removed texts stay in their parts, unreferenced, until they are most of them.
    texts, text_spans = tidied(snapshot.texts, snapshot.text_spans[keep_passage])
    lines, line_spans = tidied(snapshot.article_lines, snapshot.article_spans[keep_article])
    # No weights: every caller weighs the result again (the corpus statistics moved).
    postings = unweighed(offsets, docs, tfs, len(doc_len), len(old.base))
    counts = snapshot.manifest.counts.model_copy(
        update={
            "articles": int(keep_article.sum()),
            "passages": len(doc_len),
            "postings": len(docs),
        }
    )
    return dataclasses.replace(
        snapshot,
        manifest=snapshot.manifest.model_copy(update={"counts": counts, "files": {}, "gone": 0}),
        article_gone=None,
        postings=postings,
        doc_len=doc_len,
        passage_article=article_index[snapshot.passage_article[keep_passage]].astype(np.int32),
        passage_position=snapshot.passage_position[keep_passage],
        text_spans=text_spans,
        texts=texts,
        article_lines=lines,
        article_spans=line_spans,
        article_published=snapshot.article_published[keep_article],
        article_source=snapshot.article_source[keep_article],
        article_host=snapshot.article_host[keep_article],
        article_origin=snapshot.article_origin[keep_article],
        _article_cache={},
    )


def _new_postings(
    new_terms: np.ndarray, new_starts: np.ndarray, first: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(term, passage, count) of new passages numbered from ``first``, by term then passage."""
    n_new = len(new_starts) - 1
    new_doc = np.repeat(np.arange(n_new, dtype=np.int64), np.diff(new_starts))
    keys, counts = np.unique(
        new_terms.astype(np.int64) * max(n_new, 1) + new_doc, return_counts=True
    )
    return (
        keys // max(n_new, 1),
        (keys % max(n_new, 1) + first).astype(np.int32),
        counts.astype(np.int32),
    )


def adds_as_tail(
    snapshot: Snapshot, analyzed: Sequence[tuple[ArticleMeta, AnalyzedArticle]]
) -> bool:
    """Whether ``extend_snapshot`` would add these as a tail, leaving the base's files as
    they are (so a refresh need not check their checksums before patching)."""
    lengths = [article.term_counts for _, article in analyzed]
    return _tail_fits(snapshot.postings, np.concatenate([snapshot.doc_len, *lengths]))


def _tail_fits(postings: Postings, doc_len: np.ndarray) -> bool:
    """Whether passages added to ``postings`` (``doc_len`` is every passage's, new ones last)
    may stay in its tail: the tail at most TAIL_SHARE of the base, and the average passage
    length within MAX_LENGTH_DRIFT of the base's, which normalizes the tail's lengths."""
    n_base = postings.tail.n_base if postings.tail is not None else postings.n_docs
    if not n_base or len(doc_len) - n_base > TAIL_SHARE * n_base:
        return False
    base_avg = float(doc_len[:n_base].sum()) / n_base
    now_avg = float(doc_len.sum()) / len(doc_len)
    return abs(now_avg / (base_avg or 1.0) - 1.0) <= MAX_LENGTH_DRIFT


TAIL_SHARE = 0.1
MAX_LENGTH_DRIFT = 0.01
