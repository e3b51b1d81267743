"""Chunking: articles become overlapping windows of whole sentences, sized in words."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from index.sentences import split_sentences


class ChunkingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    """Passage size and overlap, in words. Defaults measured on ../shared/eval (docs/quality.md)."""

    words: int = Field(default=300, ge=20, le=2000, description="target words per passage")
    overlap: int = Field(default=60, ge=0, description="words repeated from the previous passage")

    @model_validator(mode="after")
    def _overlap_smaller_than_passage(self) -> ChunkingConfig:
        if self.overlap >= self.words:
            raise ValueError("overlap must be smaller than words")
        return self


def chunk_text(text: str, config: ChunkingConfig) -> list[str]:
    """Cut text into passages of about ``config.words`` words, never splitting a sentence
    unless the sentence alone is longer than a passage."""
    words = text.split()
    if len(words) <= config.words:
        # One passage: what joining its whitespace-normalised sentences would give, without
        # splitting them first (most news paragraphs and short articles take this path).
        return [" ".join(words)] if words else []
    sentences = [piece for s in split_sentences(text) for piece in _split_long(s, config.words)]
    counts = [len(s.split()) for s in sentences]
    passages: list[str] = []
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
                passages[-1] += " " + " ".join(sentences[prev_end:end])
            else:
                passages.append(" ".join(sentences[start:end]))
            break
        passages.append(" ".join(sentences[start:end]))
        prev_end = end
        start = _overlap_start(counts, start, end, config.overlap)
    return passages


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
