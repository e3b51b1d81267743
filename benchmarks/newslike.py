"""News-like articles of any number, and real questions, for the benchmarks.

Random words make postings of the wrong shape for real questions: English news repeats a few
thousand words, and a question's terms co-occur in the passages about its story. So each article
here is a real article's sentences in a new order, a quarter of them swapped for sentences of
other articles, under that article's headline, with a date in the three years before the
benchmark runs. The real articles come from ``../shared/eval`` (or ``--seed-articles``); their
text is read at run time and never stored in the project.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"
SEED_ARTICLES = [EVAL / "rtqa-2023" / "articles.jsonl", EVAL / "rtqa-dev" / "articles.jsonl"]
QUESTION_FILES = [EVAL / "rtqa-dev" / "questions.jsonl"]
REALISTIC = ROOT / "tests" / "data" / "realistic-questions.jsonl"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
SWAP_SHARE = 0.25
MIN_SENTENCES = 3  # shorter pages are mostly furniture, which cleaning empties
SENTENCES_PER_PARAGRAPH = (1, 4)


def seed_paths(given: list[Path] | None = None) -> list[Path]:
    paths = given or [p for p in SEED_ARTICLES if p.is_file()]
    if not paths:
        raise SystemExit(
            "No real articles to build news-like text from: pass --seed-articles FILE.jsonl "
            "(JSON lines with title and text), or run beside ../shared/eval."
        )
    return paths


def _stories(paths: list[Path]) -> list[tuple[str, list[str]]]:
    stories = []
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                sentences = [
                    s
                    for para in str(record.get("text") or "").split("\n")
                    for s in _SENTENCE_END.split(para.strip())
                    if len(s.split()) >= 4
                ]
                if len(sentences) >= MIN_SENTENCES and record.get("title"):
                    stories.append((str(record["title"]), sentences))
    return stories


def articles(n: int, seed: int, paths: list[Path], start: int = 0) -> Iterator[dict[str, str]]:
    """``n`` articles as JSONL records newsbot reads (id, url, title, text, source, published)."""
    rng = random.Random(seed)
    stories = _stories(paths)
    pool = [s for _, sentences in stories for s in sentences]
    now = datetime.now(UTC).replace(microsecond=0)
    for i in range(start, start + n):
        title, sentences = stories[rng.randrange(len(stories))]
        body = [s if rng.random() >= SWAP_SHARE else rng.choice(pool) for s in sentences]
        rng.shuffle(body)
        paragraphs, at = [], 0
        while at < len(body):
            step = rng.randint(*SENTENCES_PER_PARAGRAPH)
            paragraphs.append(" ".join(body[at : at + step]))
            at += step
        outlet = rng.randrange(50)
        yield {
            "id": f"n{i}",
            "url": f"https://outlet{outlet}.example/story/{i}",
            "title": title,
            "text": "\n\n".join(paragraphs),
            "source": f"Outlet {outlet}",
            "published": (now - timedelta(seconds=rng.randrange(3 * 365 * 86400))).isoformat(),
        }


def write_jsonl(path: Path, records: Iterator[dict[str, str]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record) + "\n")
            count += 1
    return count


def real_questions() -> list[str]:
    """rtqa-dev's questions (when ../shared/eval is here) and the realistic set's, as typed."""
    out: list[str] = []
    for path in [*QUESTION_FILES, REALISTIC]:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            typed = record.get("question") or (record.get("conversation") or [None])[0]
            if typed:
                out.append(str(typed))
    return out
