"""The typed values that flow between the stages: articles, passages, hits and answers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
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
    # The configured source that brought it (its origin key, "feed:https://…"), so a server sees
    # only the sources it follows. Kept in the index's own array, never in output or citations.
    via: str = Field(default="", exclude=True)


class Article(ArticleMeta):
    """One cleaned news article, as every loader yields it."""

    text: str
    origin: str = Field(default="", description="where it was read from, for reports")

    def meta(self) -> ArticleMeta:
        return ArticleMeta(**self.model_dump(include=set(ArticleMeta.model_fields)), via=self.via)


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


class Refusal(StrEnum):
    """Why there is no answer; each front end words it."""

    FILTERED = "filtered"  # the filters (since, source) left no article to search
    NOT_ENGLISH = "not_english"  # the question is in a language the index does not hold
    CHITCHAT = "chitchat"  # a greeting or a thank-you, not a question about the news
    NOT_COVERED = "not_covered"  # the indexed news does not answer it


class BriefItem(BaseModel):
    """One article of a brief: the article and its sentence most relevant to the topic."""

    hit: Hit
    sentence: str


class Correction(BaseModel):
    """A word of the question read as another: "teslla" read as "Tesla"."""

    typed: str
    read: str


class Answer(BaseModel):
    """What the bot says for one question: a fact, a brief, or a refusal with its reason."""

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
    items: list[BriefItem] = Field(default_factory=list, description="a brief's articles")
    topic: str | None = Field(default=None, description="a brief's topic ('' = all the news)")
    refusal: Refusal | None = None
    detail: str | None = Field(default=None, description="what the refusal is about, in words")
    nearest: list[ArticleMeta] = Field(
        default_factory=list, description="closest headlines when the news does not cover it"
    )
    corrections: list[Correction] = Field(default_factory=list)
    support: float | None = Field(
        default=None, description="how much of the question the answer holds, 0 to 1"
    )
    read_as: str | None = Field(default=None, description="a follow-up, as it was understood")
    context: str | None = Field(
        default=None, description="the sentence after the answer, when the answer runs into it"
    )

    @property
    def kind(self) -> str:
        if self.sentence is not None:
            return "fact"
        return "brief" if self.items else "refusal"

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
        if answer is not None:
            answer["support"] = self.support
            if self.context:
                answer["context"] = self.context
        return {
            "question": self.question,
            "kind": self.kind,
            "answer": answer,
            "items": [{**_citation(i.hit.article), "sentence": i.sentence} for i in self.items],
            "refusal": self.refusal.value if self.refusal else None,
            "detail": self.detail,
            "nearest": [_citation(a) for a in self.nearest],
            "corrections": [c.model_dump() for c in self.corrections],
            "read_as": self.read_as,
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
