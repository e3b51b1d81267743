"""newsbot against rank-bm25 on reproducible news-like corpora of 10k, 100k and 1M passages.

    python benchmarks/search.py                  # 10k, 100k and 1M passages (about 10 minutes)
    python benchmarks/search.py --sizes 10000    # a quick look
    python benchmarks/search.py --real --sizes 1000000   # real questions over news-like text
    python benchmarks/search.py --real --index DIR       # real questions over an index you have

For each size it builds the index from article text (on every core), then, in a fresh process,
times the cold load, top-10 searches of analyzed queries and whole answers, and reads the
resident memory; it adds 1,000 articles to the index; it builds rank-bm25's BM25Plus over the same
analyzed passages and checks, query by query, that both return the same top 10. Prints one table.

The corpus: a Zipfian vocabulary of 200,000 words, passages of 20 to 300 words (log-normal,
median 90, like news paragraphs), 50 outlets, three years of dates, a fixed seed.

With ``--real``, the index is built from news-like articles (``newslike.py``: real sentences in
new orders) and timed on real questions as people type them (rtqa-dev's and the realistic set's,
8 to 18 terms): top-10 in one vectorized pass, by scoring every posting, search as the product runs it
(recency prior, one passage per article), the whole answer, and tantivy on the same passages
when it is installed (``pip install tantivy``). Prints p50, p95 and p99 per row.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newslike import articles as newslike_articles
from newslike import real_questions, seed_paths
from rank_bm25 import BM25Plus

from index.answer.answerer import Answerer
from index.models import Article
from index.search import snapshot as snapshots
from index.search.build import analyze_articles, build_snapshot, extend_snapshot
from index.search.searcher import SearchConfig, Searcher, SearchFilters

VOCAB = 200_000
SEED = 20240119
QUERIES = 200
BM25_QUERIES = {10_000: 100, 100_000: 30, 1_000_000: 8}
# Servers that each add their own feeds (issue 16): the cost of searching one server's view.
FEEDS, SERVERS, FEEDS_PER_SERVER = 5_000, 1_000, 20


def feed_origin(number: int) -> str:
    return f"feed:https://feeds{number}.example/rss"


def vocabulary(rng: np.random.Generator) -> np.ndarray:
    letters = np.array(list("abcdefghijklmnoprstuvwyz"))
    lengths = rng.integers(4, 10, VOCAB)
    words = {"".join(rng.choice(letters, n)) for n in lengths}
    while len(words) < VOCAB:
        words.add("".join(rng.choice(letters, 8)))
    return np.array(sorted(words)[:VOCAB], dtype=object)


def corpus(n: int, seed: int, start: int = 0) -> list[Article]:
    rng = np.random.default_rng(seed)
    words = vocabulary(np.random.default_rng(SEED))
    ranks = np.arange(1, VOCAB + 1)
    cdf = np.cumsum(1.0 / ranks**1.07)
    cdf /= cdf[-1]
    lengths = np.clip(rng.lognormal(np.log(90), 0.5, n), 20, 300).astype(np.int64)
    ids = np.searchsorted(cdf, rng.random(int(lengths.sum())))
    stops = rng.random(len(ids)) < 1 / 15
    tokens = words[ids]
    tokens[stops] = tokens[stops] + "."
    bounds = np.concatenate(([0], np.cumsum(lengths)))
    epoch = datetime(2022, 1, 1, tzinfo=UTC).timestamp()
    days = rng.integers(0, 3 * 365, n)
    outlets = rng.integers(0, 50, n)
    articles = []
    for i in range(n):
        text = " ".join(tokens[bounds[i] : bounds[i + 1]]).capitalize()
        title = " ".join(tokens[bounds[i] : bounds[i] + 6]).replace(".", "").capitalize()
        articles.append(
            Article(
                id=f"b{start + i}",
                url=f"https://outlet{outlets[i]}.example/{start + i}",
                title=title,
                text=text,
                source=f"outlet{outlets[i]}.example",
                published=datetime.fromtimestamp(epoch + days[i] * 86400, UTC),
            )
        )
    return articles


def queries(snap: snapshots.Snapshot, n: int, seed: int) -> list[list[str]]:
    """Two to five terms of a random passage each: rare and common words mixed, as people ask."""
    rng = np.random.default_rng(seed)
    out = []
    for passage in rng.integers(0, snap.manifest.counts.passages, n):
        present = snap.analyzer.terms(snap.passage_text(int(passage)))
        k = min(len(set(present)), int(rng.integers(2, 6)))
        out.append(list(rng.choice(sorted(set(present)), k, replace=False)))
    return out


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory in MiB; RssAnon is the private part, RssFile the mapped index files that
    every process serving the same index shares through the page cache."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def serve(index: Path, query_file: Path) -> None:
    """Run in a fresh process: cold load, searches, answers, memory. Prints JSON."""
    qs = json.loads(query_file.read_text())
    started = time.perf_counter()
    snap = snapshots.load(index)
    searcher = Searcher(snap, SearchConfig(recency_weight=0))
    load_s = time.perf_counter() - started
    postings = snap.postings
    search_ms = []
    for terms in qs:
        ids = [snap.vocab[t] for t in terms if t in snap.vocab]
        t0 = time.perf_counter()
        postings.best(ids, 10)
        search_ms.append((time.perf_counter() - t0) * 1000)
    answerer = Answerer(Searcher(snap))
    answer_ms = []
    for terms in qs[:100]:
        t0 = time.perf_counter()
        answerer.answer("What about " + " ".join(terms) + "?")
        answer_ms.append((time.perf_counter() - t0) * 1000)
    del searcher
    print(
        json.dumps(
            {
                "load_s": load_s,
                "search_p50": float(np.percentile(search_ms, 50)),
                "search_p95": float(np.percentile(search_ms, 95)),
                "answer_p50": float(np.percentile(answer_ms, 50)),
                "rss_mb": rss_mb(),
                "anon_mb": rss_mb("RssAnon"),
            }
        )
    )


def percentiles(times: list[float]) -> dict[str, float]:
    return {f"p{p}": float(np.percentile(times, p)) for p in (50, 95, 99)}


def serve_real(index: Path) -> dict[str, dict[str, float]]:
    """Real questions over ``index``, each way the product and its rivals would search them."""
    questions = real_questions()
    snap = snapshots.load(index)
    postings = snap.postings
    plain = Searcher(snap, SearchConfig(recency_weight=0))
    product = Searcher(snap)
    answerer = Answerer(product)
    analyzed = [[t for t in plain.snapshot.analyzer.terms(q) if t in snap.vocab] for q in questions]
    for q in questions[:20]:  # warm the page cache and the lazily loaded word lists
        answerer.answer(q)
    rng = np.random.default_rng(SEED)
    feeds = len([o for o in snap.origins if o.startswith("feed:")])
    if feeds < FEEDS_PER_SERVER:
        feeds = 0  # an index of your own, not the benchmark's feeds: no server rows
    views = [
        frozenset(feed_origin(int(f)) for f in rng.choice(feeds, FEEDS_PER_SERVER, replace=False))
        for _ in range(SERVERS if feeds else 0)
    ]
    server_of = {q: views[i % SERVERS] for i, q in enumerate(questions)} if views else {}
    ways = {
        "top-10, one vectorized pass (no prior)": lambda q, terms: postings.best(
            [snap.vocab[t] for t in terms], 10
        ),
        "top-10, every posting": lambda q, terms: _every_posting(postings, snap, terms),
        "search as the product runs it": lambda q, terms: product.search(q, 10),
        "whole answer": lambda q, terms: answerer.answer(q),
    }
    if feeds:
        ways[f"search, one of {SERVERS:,} servers ({FEEDS_PER_SERVER} of {feeds:,} feeds)"] = (
            lambda q, terms: product.search(q, 10, SearchFilters(origins=server_of[q]))
        )
        ways[f"whole answer, one of {SERVERS:,} servers"] = lambda q, terms: answerer.answer(
            q, view=server_of[q]
        )
    rows = {}
    for name, way in ways.items():
        times = []
        for q, terms in zip(questions, analyzed, strict=True):
            if not terms:
                continue
            t0 = time.perf_counter()
            way(q, terms)
            times.append((time.perf_counter() - t0) * 1000)
        rows[name] = percentiles(times)
    tantivy_row = _tantivy(snap, analyzed)
    if tantivy_row:
        rows["tantivy 0.x, same passages and terms"] = tantivy_row
    rows["_meta"] = {
        "questions": len(questions),
        "terms_p50": float(np.median([len(set(a)) for a in analyzed])),
    }
    return rows


def _every_posting(postings, snap, terms: list[str]) -> np.ndarray:
    scores = postings.scores(list(dict.fromkeys(snap.vocab[t] for t in terms)))
    return np.argpartition(-scores, 10)[:10]


def _tantivy(snap: snapshots.Snapshot, analyzed: list[list[str]]) -> dict[str, float] | None:
    """tantivy's BM25 over the very same analyzed passages (its own tokenizer on the terms), or
    None when it is not installed."""
    try:
        import tantivy
    except ImportError:
        return None
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=False, tokenizer_name="whitespace")
    schema = builder.build()
    with tempfile.TemporaryDirectory(prefix="newsbot-tantivy-") as folder:
        index = tantivy.Index(schema, path=folder)
        writer = index.writer(heap_size=512_000_000, num_threads=os.cpu_count() or 1)
        for tokens in passage_tokens(snap):
            writer.add_document(tantivy.Document(body=" ".join(tokens)))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        searcher = index.searcher()
        times = []
        for terms in analyzed:
            if not terms:
                continue
            query = index.parse_query(" OR ".join(dict.fromkeys(terms)), ["body"])
            t0 = time.perf_counter()
            searcher.search(query, 10)
            times.append((time.perf_counter() - t0) * 1000)
    return percentiles(times)


def passage_tokens(snap: snapshots.Snapshot) -> Iterator[list[str]]:
    """Every passage's analyzed terms (each as often as it occurs), rebuilt from the postings:
    the very tokens newsbot scored, for the other engines to score."""
    terms = np.array(sorted(snap.vocab, key=snap.vocab.__getitem__), dtype=object)
    offsets, docs, tfs = snap.postings.flat()
    term_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    order = np.argsort(docs, kind="stable")
    doc_bounds = np.searchsorted(docs[order], np.arange(snap.postings.n_docs + 1))
    for a, b in itertools.pairwise(doc_bounds):
        yield np.repeat(terms[term_of[order[a:b]]], tfs[order[a:b]]).tolist()


def rank_bm25_side(
    snap: snapshots.Snapshot, qs: list[list[str]], n_queries: int
) -> dict[str, float]:
    """rank-bm25's BM25Plus over the very same analyzed passages: build, memory, speed, agreement."""
    tokens = list(passage_tokens(snap))
    p = snap.postings
    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    params = snap.manifest.bm25
    reference = BM25Plus(tokens, k1=params.k1, b=params.b, delta=params.effective_delta)
    build_s = time.perf_counter() - t0
    memory = rss_mb() - before
    times, agree = [], 0
    for query in qs[:n_queries]:
        t0 = time.perf_counter()
        scores = reference.get_scores(query)
        times.append((time.perf_counter() - t0) * 1000)
        ids = [snap.vocab[t] for t in query]
        ours, our_scores = p.best(ids, 10)
        matched = np.unique(np.concatenate([p.postings(t)[0] for t in ids]))
        theirs = matched[np.argsort(-scores[matched], kind="stable")[:10]]
        same_scores = np.allclose(np.sort(our_scores), np.sort(scores[theirs]), rtol=1e-5)
        tie_at_cut = np.sum(np.isclose(scores[matched], scores[theirs[-1]], rtol=1e-6)) > 1
        agree += same_scores and (set(ours.tolist()) == set(theirs.tolist()) or tie_at_cut)
    return {
        "build_s": build_s,
        "memory_mb": memory,
        "query_ms": float(np.median(times)),
        "agree": agree / max(1, min(n_queries, len(qs))),
    }


def run(size: int, workdir: Path) -> dict[str, float]:
    articles = corpus(size, SEED + size)
    gc.collect()
    t0 = time.perf_counter()
    snap = build_snapshot(articles)
    build_s = time.perf_counter() - t0
    del articles
    index = workdir / f"index-{size}"
    snapshots.save(snap, index)
    qs = queries(snap, QUERIES, SEED)
    query_file = workdir / f"queries-{size}.json"
    query_file.write_text(json.dumps(qs))
    child = subprocess.run(
        [sys.executable, __file__, "--serve", str(index), str(query_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    served = json.loads(child.stdout)
    more = corpus(1000, SEED + 7, start=size)
    t0 = time.perf_counter()
    loaded = snapshots.load(index)
    snapshots.save(extend_snapshot(loaded, analyze_articles(loaded, more)), index)
    add_s = time.perf_counter() - t0
    reference = rank_bm25_side(snap, qs, BM25_QUERIES.get(size, 10))
    return {"passages": snap.manifest.counts.passages, "build_s": build_s, "add_s": add_s, **served,
            **{f"bm25_{k}": v for k, v in reference.items()}}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--serve", nargs=2, metavar=("INDEX", "QUERIES"), help=argparse.SUPPRESS)
    parser.add_argument("--serve-real", metavar="INDEX", help=argparse.SUPPRESS)
    parser.add_argument("--real", action="store_true", help="real questions over news-like text")
    parser.add_argument("--index", type=Path, help="with --real: time this index, build nothing")
    parser.add_argument("--seed-articles", type=Path, nargs="+", help="JSONL of real articles")
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), Path(args.serve[1]))
        return
    if args.serve_real:
        print(json.dumps(serve_real(Path(args.serve_real))))
        return
    if args.real:
        real_main(args)
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as tmp:
        for size in args.sizes:
            rows.append(run(size, Path(tmp)))
            print(f"measured {size:,} passages", file=sys.stderr, flush=True)
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, numpy {np.__version__}\n"
    )
    header = ("passages", "build s", "add 1k s", "cold load s", "search p50 ms", "search p95 ms",
              "answer p50 ms", "RSS MiB (private)", "rank-bm25 build s", "rank-bm25 MB", "rank-bm25 query ms",
              "speed-up", "top-10 same")  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        cells = [
            f"{r['passages']:,}", f"{r['build_s']:.1f}", f"{r['add_s']:.1f}", f"{r['load_s']:.2f}",
            f"{r['search_p50']:.2f}", f"{r['search_p95']:.2f}", f"{r['answer_p50']:.1f}", f"{r['rss_mb']:.0f} ({r['anon_mb']:.0f})",
            f"{r['bm25_build_s']:.1f}", f"{r['bm25_memory_mb']:.0f}", f"{r['bm25_query_ms']:.0f}",
            f"{r['bm25_query_ms'] / r['search_p50']:.0f}x", f"{r['bm25_agree']:.0%}",
        ]  # fmt: skip
        print("| " + " | ".join(cells) + " |")


def real_main(args: argparse.Namespace) -> None:
    """The real-question table: one row per way of searching, per index size."""
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as tmp:
        indexes: list[tuple[int, Path]] = []
        if args.index:
            indexes.append((snapshots.load(args.index).manifest.counts.passages, args.index))
        else:
            seeds = seed_paths(args.seed_articles)
            for size in args.sizes:
                # About 6.4 passages per news-like article.
                # Each article came through one of FEEDS feeds, as when servers add their own.
                built = build_snapshot(
                    [
                        Article.model_validate({**r, "via": feed_origin(i % FEEDS)})
                        for i, r in enumerate(newslike_articles(size * 10 // 64, SEED, seeds))
                    ]
                )
                snapshots.save(built, Path(tmp) / f"real-{size}")
                indexes.append((built.manifest.counts.passages, Path(tmp) / f"real-{size}"))
                del built
                gc.collect()
        print(
            f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, numpy {np.__version__}\n"
        )
        print("| passages | way | p50 ms | p95 ms | p99 ms |")
        print("|---|---|---|---|---|")
        for passages, index in indexes:
            child = subprocess.run(
                [sys.executable, __file__, "--serve-real", str(index)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            rows = json.loads(child.stdout)
            meta = rows.pop("_meta")
            for name, row in rows.items():
                print(
                    f"| {passages:,} | {name} | {row['p50']:.1f} | {row['p95']:.1f} | {row['p99']:.1f} |"
                )
            print(
                f"\n{meta['questions']:.0f} questions, median {meta['terms_p50']:.0f} distinct terms each",
                file=sys.stderr,
            )


if __name__ == "__main__":
    main()
