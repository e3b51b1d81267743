"""Chunking: articles become overlapping windows of whole sentences, sized in words."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from index.answer.sentences import PARAGRAPH_BREAK, split_paragraph

# Bump when the rules below change: passages cut by other rules must be cut again.
# 2: paragraph breaks are kept in passages.
CHUNKING_VERSION = 2


class ChunkingConfig(BaseModel):
    """Passage size and overlap, in words. Defaults measured on ../shared/eval (docs/quality.md)."""

    model_config = ConfigDict(extra="forbid")

    words: int = Field(default=300, ge=20, le=2000, description="target words per passage")
    overlap: int = Field(default=60, ge=0, description="words repeated from the previous passage")

    @model_validator(mode="after")
    def _overlap_smaller_than_passage(self) -> ChunkingConfig:
        if self.overlap >= self.words:
            raise ValueError("overlap must be smaller than words")
        return self


@dataclass(frozen=True)
class Cut:
    """An article cut into passages, with the words of each sentence the passages are made of:
    passage ``i`` is sentences ``spans[i][0]`` to ``spans[i][1]``, and its words (as
    ``str.split`` gives them) are theirs, so analysis need not split or re-read the text that
    neighbouring passages share."""

    passages: list[str]
    sentence_words: list[list[str]]
    spans: list[tuple[int, int]]


def chunk_text(text: str, config: ChunkingConfig) -> list[str]:
    """Cut text into passages of about ``config.words`` words, never splitting a sentence
    unless the sentence alone is longer than a passage (see ``cut_text``)."""
    return cut_text(text, config).passages


def cut_text(text: str, config: ChunkingConfig) -> Cut:
    """``chunk_text``, with the words of each passage's sentences.

    Paragraph breaks survive as blank lines: a scraped heading ("Tony Awards") has no full stop,
    and only the break keeps it from running into the next sentence when answers are picked.
    """
    paragraph_words = [p.split() for p in PARAGRAPH_BREAK.split(text)]
    paragraph_words = [words for words in paragraph_words if words]
    paragraphs = [" ".join(words) for words in paragraph_words]
    if sum(map(len, paragraph_words)) <= config.words:
        # One passage: no need to split it into sentences (most short articles take this path).
        if not paragraphs:
            return Cut([], [], [])
        return Cut(["\n\n".join(paragraphs)], paragraph_words, [(0, len(paragraph_words))])
    sentences: list[str] = []
    opens_paragraph: list[bool] = []
    for paragraph in paragraphs:
        pieces = [
            piece for s in split_paragraph(paragraph) for piece in _split_long(s, config.words)
        ]
        sentences.extend(pieces)
        opens_paragraph.extend(i == 0 for i in range(len(pieces)))
    words = [s.split() for s in sentences]
    counts = list(map(len, words))

    def join(start: int, end: int) -> str:
        return "".join(
            ("" if i == start else "\n\n" if opens_paragraph[i] else " ") + sentences[i]
            for i in range(start, end)
        )

    passages: list[str] = []
    spans: list[tuple[int, int]] = []
    start = prev_end = 0
    min_new_words = max(config.words // 4, config.overlap)
    while start < len(sentences):
        end, total = start, 0
        while end < len(sentences) and (end == start or total + counts[end] <= config.words):
            total += counts[end]
            end += 1
        if end >= len(sentences):
            if passages and sum(counts[prev_end:end]) < min_new_words:
                # A short tail would be mostly repeated text, and BM25 favours short passages,
                # so it would outrank the passage it repeats: extend that passage instead.
                passages[-1] += ("\n\n" if opens_paragraph[prev_end] else " ") + join(prev_end, end)
                spans[-1] = (spans[-1][0], end)
            else:
                passages.append(join(start, end))
                spans.append((start, end))
            break
        passages.append(join(start, end))
        spans.append((start, end))
        prev_end = end
        start = _overlap_start(counts, start, end, config.overlap)
    return Cut(passages, words, spans)


def _overlap_start(counts: list[int], start: int, end: int, overlap: int) -> int:
    """First sentence of the next window: step back from ``end`` while the repeated words fit."""
    nxt, repeated = end, 0
    while nxt - 1 > start and repeated + counts[nxt - 1] <= overlap:
        nxt -= 1
        repeated += counts[nxt]
    return nxt


def _split_long(sentence: str, limit: int) -> list[str]:
    words = sentence.split()
    if len(words) <= limit:
        return [sentence]
    return [" ".join(words[i : i + limit]) for i in range(0, len(words), limit)]
