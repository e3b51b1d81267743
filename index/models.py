"""The typed values that flow between the stages: articles, passages, hits and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ArticleMeta(BaseModel):
    """What a citation needs to know about an article."""

    model_config = ConfigDict(frozen=True)

    id: str
    url: str | None = None
    title: str
    source: str = ""
    published: datetime | None = None
    authors: tuple[str, ...] = ()


class Article(ArticleMeta):
    """One cleaned news article, as every loader yields it."""

    text: str
    origin: str = Field(default="", description="where it was read from, for reports")

    def meta(self) -> ArticleMeta:
        return ArticleMeta(**self.model_dump(include=set(ArticleMeta.model_fields)))


class SourceRef(BaseModel):
    """One configured source: a local file or folder, a feed, or a single article URL."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["path", "feed", "url"]
    location: str
    name: str | None = Field(default=None, description="outlet to show when an article names none")

    @property
    def origin(self) -> str:
        """How articles remember which source brought them."""
        return f"{self.kind}:{self.location}"


class Passage(BaseModel):
    """A window of consecutive sentences of one article."""

    model_config = ConfigDict(frozen=True)

    article: int = Field(description="index of the article in the snapshot")
    position: int = Field(description="0-based order of the passage within its article")
    text: str


class Problem(BaseModel):
    """A source that was skipped, with the reason, so a reindex can report it by name."""

    origin: str
    reason: str


class Hit(BaseModel):
    """A retrieved passage with its article and its BM25 score."""

    article: ArticleMeta
    position: int
    text: str
    score: float


class AnswerSentence(BaseModel):
    """The sentence that answers, and the span of it that is the answer itself."""

    text: str
    start: int
    end: int
    hit: Hit

    @property
    def highlight(self) -> str:
        return self.text[self.start : self.end]


class Answer(BaseModel):
    """What the bot says for one question."""

    question: str
    sentence: AnswerSentence | None = Field(
        default=None, description="None when the indexed news does not cover the question"
    )
    passages: list[Hit] = Field(default_factory=list)
    indexed_at: datetime | None = None
    articles: int = 0
    asked: datetime | None = Field(
        default=None, description="when it was asked; later news was not used"
    )

    @property
    def found(self) -> bool:
        return self.sentence is not None

    def as_of(self) -> str:
        """The line "As of 2024-01-19, per The Circuit.": when the answer was reported, and by whom."""
        if self.sentence is None:
            return ""
        article = self.sentence.hit.article
        when = article.published.date().isoformat() if article.published else "an undated report"
        return f"As of {when}, per {article.source}." if article.source else f"As of {when}."

    def sources(self, limit: int) -> list[Hit]:
        """The passages to cite: the answer's own first, then one per other article."""
        first = [self.sentence.hit] if self.sentence else []
        seen: set[str] = set()
        cited = []
        for hit in first + self.passages:
            if hit.article.id not in seen:
                seen.add(hit.article.id)
                cited.append(hit)
        return cited[:limit]

    def to_record(self) -> dict[str, object]:
        """The JSON shape of ``newsbot ask --json``, which ../shared/eval/score.py also reads."""
        answer = None
        if self.sentence is not None:
            article = self.sentence.hit.article
            answer = {
                "text": self.sentence.text,
                "highlight": self.sentence.highlight,
                **_citation(article),
            }
        return {
            "question": self.question,
            "answer": answer,
            "passages": [
                {**_citation(h.article), "text": h.text, "score": round(h.score, 6)}
                for h in self.passages
            ],
        }


def _citation(article: ArticleMeta) -> dict[str, object]:
    return {
        "url": article.url,
        "title": article.title,
        "source": article.source,
        "published": article.published.date().isoformat() if article.published else None,
    }
