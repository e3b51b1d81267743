"""Composing an answer: decide whether the news covers the question, pick the sentence, mark the span."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from index.answer.question import clean_question
from index.answer.sentences import split_sentences
from index.answer.spans import (
    QuestionType,
    asking_part,
    common_words,
    find_span,
    question_focus,
    question_type,
)
from index.ingest.clean import outlet_key
from index.models import Answer, AnswerSentence, Hit
from index.search import snapshot as snapshots
from index.search.searcher import SearchConfig, Searcher, SearchFilters

# How a sentence's score is made (measured on ../shared/eval, see docs/quality.md): its share of
# the question's weight, plus a bonus when it holds an answer of the asked type (a little more
# when that answer is named with the kind of thing asked for: "Yellowstone National Park" for
# "which park"), minus a little for coming from a lower-ranked article or later in the article.
TYPED_BONUS = 0.5
NAME_BONUS = 0.25
FOCUS_BONUS = 0.15
RANK_PENALTY = 0.04
POSITION_PENALTY = 0.02
HEADLINE_PENALTY = 0.05
ASK_WEIGHT = 2.0  # for the words of the asking part of the question, see spans.asking_part
# A sentence with no span and fewer words beyond the question's than this is an echo of it.
ECHO_NEW_TERMS = 2
ECHO_PENALTY = 1.0  # an echo is shown only when no other sentence holds a question word
# A passage must hold at least this many of the question's words (all of them, if it has fewer).
MIN_MATCHED_TERMS = 2


class AnswerConfig(BaseModel):
    """How answers are composed (defaults measured on ../shared/eval, see docs/quality.md)."""

    model_config = ConfigDict(extra="forbid")

    passages: int = Field(default=10, ge=1, le=50, description="passages returned with an answer")
    sentence_from: int = Field(
        default=3, ge=1, le=20, description="best articles searched for the answer sentence"
    )
    min_coverage: float = Field(
        default=0.40,
        ge=0,
        le=1,
        description=(
            "support needed to answer: the mean of the answer sentence's and its passage's share "
            "of the question's term weight; at or below it the answer is 'not found'"
        ),
    )
    max_question_chars: int = Field(default=500, ge=20, le=4000)


class Answerer:
    """Answers questions from one snapshot; stateless apart from it, so safe across threads."""

    def __init__(self, searcher: Searcher, config: AnswerConfig | None = None) -> None:
        self.searcher = searcher
        self.config = config or AnswerConfig()
        snapshot = searcher.snapshot
        n_docs = snapshot.postings.n_docs
        doc_freq = np.diff(snapshot.postings.offsets)
        # A positive IDF whatever the BM25 variant: it only weighs question words against each other.
        self._idf = np.log((n_docs + 1) / np.maximum(doc_freq, 1))
        self._unknown_idf = math.log(n_docs + 1) + 1.0

    @classmethod
    def load(
        cls,
        index_path: Path,
        search: SearchConfig | None = None,
        config: AnswerConfig | None = None,
    ) -> Answerer:
        """An answerer over the live snapshot of the index at ``index_path``."""
        return cls(Searcher(snapshots.load(index_path), search), config)

    def answer(self, question: str, filters: SearchFilters | None = None) -> Answer:
        question = clean_question(question, self.config.max_question_chars)
        snapshot = self.searcher.snapshot
        hits = self.searcher.search(question, self.config.passages, filters)
        weights = self._weights(self.searcher.query_terms(question))
        sentence_support, sentence = self._best_sentence(question, hits, weights)
        support = self._support(sentence_support, hits[0], weights) if hits else 0.0
        return Answer(
            question=question,
            sentence=sentence if support > self.config.min_coverage else None,
            passages=hits,
            indexed_at=snapshot.manifest.created_at,
            articles=snapshot.manifest.counts.articles,
            asked=filters.asked if filters else None,
        )

    def _weights(self, terms: list[str]) -> dict[str, float]:
        vocab = self.searcher.snapshot.vocab
        return {t: float(self._idf[vocab[t]]) if t in vocab else self._unknown_idf for t in terms}

    def _best_sentence(
        self, question: str, hits: list[Hit], weights: dict[str, float]
    ) -> tuple[float, AnswerSentence | None]:
        """The best answering sentence, and how much of the question it supports (0 to 1).

        Support is measured on one sentence, not a whole passage: a passage can hold every word
        of "the capital of Mars" in different sentences without saying anything about it.
        """
        analyzer = self.searcher.snapshot.analyzer
        kind = question_type(question)
        focus = question_focus(question, analyzer)
        asked = set(weights)
        # The asking part (the last sentence, less relative clauses) says what is wanted. The
        # scene set before it, and asides like ", who changed his name to Ye,", are repeated by
        # many sentences on the topic that do not answer.
        ask_terms = set(analyzer.terms(asking_part(question)))
        emphasis = {t: w * (ASK_WEIGHT if t in ask_terms else 1.0) for t, w in weights.items()}
        common = common_words("\n".join(hit.text for hit in hits))
        best: tuple[float, float, AnswerSentence] | None = None
        for rank, hit in self._candidate_passages(hits):
            title_terms = set(analyzer.terms(hit.article.title))
            outlet = set(analyzer.terms(outlet_key(hit.article.source)))
            for index, (penalty, sentence) in enumerate(self._sentences(hit)):
                terms = set(analyzer.terms(sentence))
                if not terms & asked:
                    continue
                span = find_span(
                    sentence, asked, kind, analyzer, exclude=outlet, common=common, focus=focus
                )
                score = (
                    _share(emphasis, terms, title_terms)
                    - penalty
                    - RANK_PENALTY * rank
                    - POSITION_PENALTY * (index + hit.position)
                )
                if span is None and len(terms - asked) < ECHO_NEW_TERMS:
                    # It restates the question (a quiz page, a lead that echoes the premise)
                    # and adds nothing that could answer it: the last resort, not the answer.
                    score -= ECHO_PENALTY
                if span is not None:
                    score += NAME_BONUS if kind is QuestionType.THING else TYPED_BONUS
                    if focus & set(analyzer.terms(sentence[span[0] : span[1]])):
                        score += FOCUS_BONUS
                if best is None or score > best[0]:
                    start, end = span if span else (0, len(sentence))
                    best = (
                        score,
                        _share(weights, terms, title_terms),
                        AnswerSentence(text=sentence, start=start, end=end, hit=hit),
                    )
        return (best[1], best[2]) if best else (0.0, None)

    def _support(self, sentence_support: float, top: Hit, weights: dict[str, float]) -> float:
        """Mean of the sentence's and the top passage's share of the question's weight, or 0 when
        the passage holds too few question words: "the capital of Mars" is not answered by a
        passage about Mars alone."""
        present = set(self.searcher.snapshot.analyzer.terms(f"{top.article.title}\n{top.text}"))
        matched = present & weights.keys()
        if len(matched) < min(len(weights), MIN_MATCHED_TERMS):
            return 0.0
        passage_support = sum(weights[t] for t in matched) / (sum(weights.values()) or 1.0)
        return (sentence_support + passage_support) / 2

    @staticmethod
    def _sentences(hit: Hit) -> list[tuple[float, str]]:
        sentences = [(0.0, s) for s in split_sentences(hit.text)]
        if hit.position == 0 and hit.article.title:
            # The headline often names the answer, but a body sentence saying as much is fuller.
            sentences.insert(0, (HEADLINE_PENALTY, hit.article.title))
        return sentences

    def _candidate_passages(self, hits: list[Hit]) -> list[tuple[int, Hit]]:
        """Every retrieved passage of the best few articles, with the rank of its article."""
        article_rank: dict[str, int] = {}
        for hit in hits:
            article_rank.setdefault(hit.article.id, len(article_rank))
        return [
            (article_rank[h.article.id], h)
            for h in hits
            if article_rank[h.article.id] < self.config.sentence_from
        ]


def _share(weights: dict[str, float], terms: set[str], title_terms: set[str]) -> float:
    """The share of the question's weight a sentence holds. Words of its article's title count
    for half: the sentence is read under its headline."""
    held = sum(w if t in terms else w / 2 if t in title_terms else 0 for t, w in weights.items())
    return held / (sum(weights.values()) or 1.0)
