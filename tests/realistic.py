"""The realistic question set (tests/data/realistic-questions.jsonl): questions as people type them
in a chat, over the bundled sample news and a second corpus written for the tests.

    python -m tests.realistic          # prints the share right per category

Each question is answered by the core, as the CLI and the bot answer it; a conversation's earlier
questions are asked first and only its last answer is judged.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.settings import sample_news_dir
from index.answer.answerer import Answerer, continue_conversation
from index.answer.question import parse_since
from index.answer.understanding import Conversation
from index.ingest.sources import load_sources
from index.models import Answer
from index.search import snapshot as snapshots
from index.search.build import build_snapshot
from index.search.searcher import SearchFilters

DATA = Path(__file__).parent / "data"
QUESTIONS = DATA / "realistic-questions.jsonl"
CORPORA = {"sample": sample_news_dir(), "world": DATA / "world-news"}


@dataclass
class Verdict:
    category: str
    right: bool
    answerable: bool
    refused: bool  # no fact and no brief
    confident_wrong: bool  # a fact or a brief that is not the expected one


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w$%.,\s]", " ", text.lower())).strip()


def judge(expect: dict[str, object], answer: Answer) -> Verdict:
    category = str(expect["category"])
    answered = answer.sentence is not None or bool(answer.items)
    if "answer" in expect:
        said = " ".join(
            filter(None, [answer.sentence.text if answer.sentence else "", answer.context])
        )
        accepted = expect["answer"] if isinstance(expect["answer"], list) else [expect["answer"]]
        right = answer.sentence is not None and any(_norm(str(a)) in _norm(said) for a in accepted)
        return Verdict(category, right, True, not answered, answered and not right)
    if "brief" in expect:
        titles = " ".join(i.hit.article.title + " " + i.sentence for i in answer.items)
        right = bool(answer.items) and _norm(str(expect["brief"])) in _norm(titles)
        return Verdict(category, right, True, not answered, answered and not right)
    right = answer.refusal is not None and answer.refusal.value == expect["refusal"]
    if right and "detail" in expect:
        right = str(expect["detail"]) in (answer.detail or "")
    return Verdict(category, right, False, not answered, answered)


def answerers(workdir: Path) -> dict[str, Answerer]:
    made = {}
    for name, folder in CORPORA.items():
        path = workdir / name
        snapshots.save(build_snapshot(load_sources([folder]).articles, workers=1), path)
        made[name] = Answerer.load(path)
    return made


def run_set(workdir: Path) -> list[Verdict]:
    by_corpus = answerers(workdir)
    verdicts = []
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        expect = json.loads(line)
        answerer = by_corpus[expect["corpus"]]
        raw = expect.get("filters") or {}
        filters = SearchFilters(
            since=parse_since(raw["since"]) if "since" in raw else None, source=raw.get("source")
        )
        conversation = Conversation()
        for question in expect.get("conversation") or [expect["question"]]:
            answer = answerer.answer(question, filters, conversation)
            conversation = continue_conversation(conversation, answer, filters)
        verdicts.append(judge(expect, answer))
    return verdicts


def summary(verdicts: list[Verdict]) -> dict[str, float]:
    """Share right per category, and the issue's overall rates."""
    total, right = Counter(), Counter()
    for v in verdicts:
        total[v.category] += 1
        right[v.category] += v.right
    shares = {c: round(right[c] / total[c], 3) for c in total}
    answerable = [v for v in verdicts if v.answerable]
    unanswerable = [v for v in verdicts if not v.answerable]
    shares["all"] = round(sum(v.right for v in verdicts) / len(verdicts), 3)
    shares["refused_answerable"] = round(sum(v.refused for v in answerable) / len(answerable), 3)
    shares["confidently_wrong"] = round(sum(v.confident_wrong for v in verdicts) / len(verdicts), 3)
    shares["refused_unanswerable"] = round(
        sum(v.refused for v in unanswerable if v.category == "unanswerable")
        / max(1, sum(v.category == "unanswerable" for v in unanswerable)),
        3,
    )
    return shares


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        verdicts = run_set(Path(tmp))
    counts = Counter(v.category for v in verdicts)
    print(f"{'category':<22}{'questions':>10}{'right':>8}")
    for name, value in summary(verdicts).items():
        print(
            f"{name:<22}{counts.get(name, len(verdicts)) if name in counts or name == 'all' else '':>10}{value:>8.3f}"
        )
    if "-v" in sys.argv:
        lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
        for line, v in zip(lines, verdicts, strict=True):
            if not v.right:
                print("WRONG", line[:160])


if __name__ == "__main__":
    main()
