"""Golden files: the exact Discord payload of each kind of answer, so any change to what members
see is a reviewed change. Regenerate with NEWSBOT_UPDATE_GOLDEN=1 and read the diff."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.discord_render import (
    answer_embed,
    coverage_embed,
    help_embed,
    short_refusal,
    sources_embed,
    why_embed,
)
from index.answer.journal import AnswerRecord, CoverageReport, ReportLine, Source
from index.models import (
    Answer,
    AnswerSentence,
    ArticleMeta,
    BriefItem,
    Correction,
    Hit,
    Refusal,
)

GOLDEN = Path(__file__).parent / "golden"
WHEN = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SENTENCE = "Meta will own almost 600,000 GPUs by the end of 2024, its chief executive said."


def hit(i: int, title: str = "Meta plans a huge GPU build-out") -> Hit:
    return Hit(
        article=ArticleMeta(
            id=f"a{i}",
            url=f"https://news.example/tech/{i}",
            title=f"{title} ({i})",
            source="The Circuit",
            published=datetime(2024, 1, 19 + i, tzinfo=UTC),
        ),
        position=0,
        text=SENTENCE + " The company bought about 150,000 H100 chips in 2023.",
        score=10.0 - i,
    )


def base(question: str, **update: object) -> Answer:
    return Answer(question=question, indexed_at=WHEN, articles=14, **update)


def kinds() -> dict[str, object]:
    hits = [hit(i) for i in range(4)]
    fact = base(
        "how many gpus will meta have",
        sentence=AnswerSentence(text=SENTENCE, start=14, end=33, hit=hits[0]),
        passages=hits,
        support=0.9,
        corrections=[Correction(typed="gpus", read="GPUs")],
    )
    record = AnswerRecord(
        key="0123456789abcdef",
        at=WHEN,
        question=fact.question,
        kind="fact",
        sentence=SENTENCE,
        highlight="almost 600,000 GPUs",
        url=hits[0].article.url,
        title=hits[0].article.title,
        passage=hits[0].text,
        matched=["Meta", "GPUs"],
        sources=[
            Source(url=h.article.url, title=h.article.title, source=h.article.source,
                   published=h.article.published, sentence=SENTENCE)
            for h in hits
        ],
    )  # fmt: skip
    return {
        "fact": answer_embed(fact),
        "yes_no": answer_embed(
            base(
                "Did Meta buy GPUs?",
                sentence=AnswerSentence(text=SENTENCE, start=0, end=0, hit=hits[0]),
                passages=hits,
            )
        ),
        "brief": answer_embed(
            base(
                "what's new with Meta?",
                items=[BriefItem(hit=h, sentence=SENTENCE) for h in hits[:3]],
                topic="Meta",
            )
        ),
        "not_covered": answer_embed(
            base(
                "What is the capital of Mars?",
                refusal=Refusal.NOT_COVERED,
                nearest=[h.article for h in hits[:3]],
            )
        ),
        "filtered": answer_embed(
            base(
                "How many GPUs?",
                refusal=Refusal.FILTERED,
                detail="Nothing newer than 2031-01-01; the newest article is from 2024-09-03.",
            )
        ),
        "chitchat": answer_embed(base("hi", refusal=Refusal.CHITCHAT)),
        "not_english": answer_embed(base("¿Quién ganó?", refusal=Refusal.NOT_ENGLISH)),
        "short_refusal": short_refusal(
            base("capital of Mars?", refusal=Refusal.NOT_COVERED, nearest=[hits[0].article])
        ),
        "more_sources": sources_embed(record),
        "why": why_embed(record),
        "report": coverage_embed(
            CoverageReport(
                days=7,
                questions=12,
                refused=[ReportLine(wording="What is the capital of Mars?", count=3)],
                voted_down=[],
            )
        ),
        "help": help_embed(10.0, [900000000000000021]),
    }


@pytest.mark.parametrize("kind", list(kinds()))
def test_each_kind_of_answer_renders_as_pinned(kind: str) -> None:
    rendered = json.dumps(kinds()[kind], indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    path = GOLDEN / f"{kind}.json"
    if os.environ.get("NEWSBOT_UPDATE_GOLDEN") == "1":
        path.write_text(rendered, encoding="utf-8")
    assert path.is_file(), f"no golden file {path.name}; run with NEWSBOT_UPDATE_GOLDEN=1"
    assert rendered == path.read_text(encoding="utf-8")
