"""Time a first and a no-change reindex of N feed items served on 127.0.0.1.

    python benchmarks/refresh.py [--items 200] [--feeds 4]

Prints one table. Everything is real: an HTTP server in a thread, feeds and pages over sockets,
the SQLite store and the index written to a temporary folder.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.ingest.fetch import FetchConfig
from index.ingest.reindex import reindex
from index.models import SourceRef
from tests.news_server import LOOPBACK_ALLOW, NewsServer, article_page, rss

WORDS = "harbour council budget storm ferry election court market energy school river bridge train museum".split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--feeds", type=int, default=4)
    args = parser.parse_args()
    rng = random.Random(7)
    with NewsServer() as server, tempfile.TemporaryDirectory() as tmp:
        feeds = []
        per_feed = args.items // args.feeds
        for f in range(args.feeds):
            items = []
            for i in range(per_feed):
                paragraphs = [
                    " ".join(rng.choice(WORDS) for _ in range(25)).capitalize() + f" story {f}-{i}."
                    for _ in range(6)
                ]
                link = server.add(
                    f"/f{f}/a{i}", article_page(f"Story {f}-{i}", paragraphs, date="2024-03-01")
                )
                items.append({"title": f"Story {f}-{i}", "link": link})
            feeds.append(
                server.add(
                    f"/f{f}.rss",
                    rss(f"Feed {f}", items),
                    content_type="application/rss+xml",
                    etag=f'"f{f}"',
                )
            )
        sources = [SourceRef(kind="feed", location=u) for u in feeds]
        rows = []
        for label in ("first reindex", "no-change reindex"):
            server.clear()
            started = time.perf_counter()
            report = reindex(
                sources,
                Path(tmp) / "idx",
                store_path=Path(tmp) / "store.sqlite3",
                fetch=FetchConfig(per_host=8, concurrency=16, **LOOPBACK_ALLOW),
            )
            seconds = time.perf_counter() - started
            rows.append(
                (
                    label,
                    seconds,
                    len(server.requests),
                    report.counts.new,
                    report.counts.unchanged,
                    report.analyzed,
                    report.articles,
                )
            )
    print(
        f"{'run':<20}{'seconds':>9}{'requests':>10}{'new':>6}{'unchanged':>11}{'analyzed':>10}{'articles':>10}"
    )
    for label, seconds, requests, new, unchanged, analyzed, articles in rows:
        print(
            f"{label:<20}{seconds:>9.2f}{requests:>10}{new:>6}{unchanged:>11}{analyzed:>10}{articles:>10}"
        )


if __name__ == "__main__":
    main()
