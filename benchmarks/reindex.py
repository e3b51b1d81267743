"""`newsbot reindex` timed as a user runs it: the command, its config, a JSONL archive, a feed.

    python benchmarks/reindex.py                   # 10k, 100k and 1M passages, and a feed
    python benchmarks/reindex.py --sizes 10000     # a quick look

Per size, a news-like JSONL archive (``newslike.py``, about 6.4 passages per article) is indexed
by the real `newsbot reindex` command in a child process, four times:

- the first build;
- a refresh with nothing new;
- a refresh after 1,000 new articles were appended to the archive;
- a refresh after 1% of the articles were rewritten and 1% deleted from it.

Then a feed of news pages served on 127.0.0.1 gets a first and a nothing-new refresh. Each row
gives the wall time and the peak resident memory of the command (its largest process). Prints
one table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newslike import articles, seed_paths, write_jsonl

from tests.news_server import NewsServer, article_page, loopback_fetch_toml, rss

NEWSBOT = str(Path(sys.executable).with_name("newsbot"))  # the installed command
PASSAGES_PER_ARTICLE = 6.4
CHANGED_SHARE = 0.01
FEED_ITEMS = 500


def run_newsbot(config: Path) -> tuple[float, dict[str, object]]:
    """Seconds and the JSON report of one `newsbot reindex`, run as a user runs it."""
    started = time.perf_counter()
    child = subprocess.run(
        [NEWSBOT, "reindex", "--config", str(config), "--json"], capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if child.returncode not in (0, 2):
        raise SystemExit(f"newsbot reindex failed ({child.returncode}): {child.stderr[-500:]}")
    return seconds, json.loads(child.stdout)


def _children_peak_mib() -> float:
    """The largest resident size of any process of the commands run so far (workers included:
    newsbot waits for them, and this process waits for newsbot)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def archive_rows(size: int, work: Path, seeds: list[Path]) -> list[tuple[str, float, float, dict]]:
    folder = work / f"jsonl-{size}"
    folder.mkdir()
    archive = folder / "news.jsonl"
    n = max(1, round(size / PASSAGES_PER_ARTICLE))
    write_jsonl(archive, articles(n, 1, seeds))
    config = folder / "newsbot.toml"
    config.write_text(f'[index]\npath = "index"\n\n[[sources]]\npath = "{archive.name}"\n')
    steps: list[tuple[str, Callable[[], None]]] = [
        ("first build", lambda: None),
        ("nothing new", lambda: None),
        ("1,000 new articles", lambda: _append(archive, n)),
        ("1% updated, 1% removed", lambda: _update_and_remove(archive)),
    ]
    rows = []
    for label, change in steps:
        change()
        rows.append((label, *measured(config)))
    return rows


def measured(config: Path) -> tuple[float, float, dict]:
    """Each step in a fresh interpreter so ru_maxrss is the step's own peak."""
    child = subprocess.run(
        [sys.executable, __file__, "--one", str(config)], capture_output=True, text=True
    )
    if child.returncode != 0:
        raise SystemExit(child.stderr.strip()[-800:])
    seconds, peak, report = json.loads(child.stdout)
    return seconds, peak, report


def _append(archive: Path, start: int) -> None:
    seeds = seed_paths(ARGS.seed_articles)
    with archive.open("a", encoding="utf-8") as fh:
        for record in articles(1000, 2, seeds, start=start):
            fh.write(json.dumps(record) + "\n")


def _update_and_remove(archive: Path) -> None:
    rng = random.Random(3)
    lines = archive.read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        roll = rng.random()
        if roll < CHANGED_SHARE:
            continue  # removed
        if roll < 2 * CHANGED_SHARE:
            record = json.loads(line)
            record["text"] += "\n\nThis story was updated with a correction."
            line = json.dumps(record)
        out.append(line)
    archive.write_text("\n".join(out) + "\n", encoding="utf-8")


def feed_rows(work: Path) -> list[tuple[str, float, float, dict]]:
    rng = random.Random(7)
    words = "harbour council budget storm ferry election court market energy school".split()
    with NewsServer() as server:
        items = []
        for i in range(FEED_ITEMS):
            paragraphs = [
                " ".join(rng.choice(words) for _ in range(25)).capitalize() + f" story {i}."
                for _ in range(6)
            ]
            link = server.add(f"/a{i}", article_page(f"Story {i}", paragraphs, date="2024-03-01"))
            items.append({"title": f"Story {i}", "link": link})
        feed = server.add("/news.rss", rss("News", items), content_type="application/rss+xml")
        folder = work / "feed"
        folder.mkdir()
        config = folder / "newsbot.toml"
        config.write_text(
            f'[index]\npath = "index"\n\n[[sources]]\nfeed = "{feed}"\n\n'
            + loopback_fetch_toml(per_host=8, concurrency=16)
        )
        return [
            (f"feed of {FEED_ITEMS} pages, first", *measured(config)),
            (f"feed of {FEED_ITEMS} pages, nothing new", *measured(config)),
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--seed-articles", type=Path, nargs="+", help="JSONL of real articles")
    parser.add_argument("--no-feed", action="store_true", help="skip the feed rows")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    global ARGS
    ARGS = parser.parse_args()
    if ARGS.one:
        seconds, report = run_newsbot(ARGS.one)
        print(json.dumps([seconds, _children_peak_mib(), report]))
        return
    seeds = seed_paths(ARGS.seed_articles)
    table = []
    with tempfile.TemporaryDirectory(prefix="newsbot-reindex-bench-") as tmp:
        for size in ARGS.sizes:
            for label, seconds, peak, report in archive_rows(size, Path(tmp), seeds):
                table.append((f"{report.get('passages', 0):,}", label, seconds, peak, report))
                print(f"{size:,} {label}: {seconds:.1f} s", file=sys.stderr, flush=True)
        if not ARGS.no_feed:
            for label, seconds, peak, report in feed_rows(Path(tmp)):
                table.append((f"{report.get('passages', 0):,}", label, seconds, peak, report))
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
    print(
        "| passages after | `newsbot reindex` run | seconds | peak MiB | new | updated | removed | analyzed |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for passages, label, seconds, peak, r in table:
        counts = r.get("counts", {})
        print(
            f"| {passages} | {label} | {seconds:.1f} | {peak:.0f} | {counts.get('new', 0):,} | "
            f"{counts.get('updated', 0):,} | {r.get('removed', 0):,} | {r.get('analyzed', 0):,} |"
        )


ARGS: argparse.Namespace

if __name__ == "__main__":
    main()
