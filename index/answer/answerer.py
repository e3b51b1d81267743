"""Composing an answer: decide whether the news covers the question, pick the sentence, mark the span."""

from __future__ import annotations

import itertools
import math
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from index.answer import ranker
from index.answer.question import clean_question
from index.answer.ranker import Candidate
from index.answer.sentences import split_sentences
from index.answer.spans import (
    QuestionType,
    asking_part,
    common_words,
    find_span,
    question_focus,
    question_type,
)
from index.answer.understanding import Conversation, Intent, Turn, read_question, strip_wrappers
from index.errors import NewsbotError
from index.ingest.clean import outlet_key
from index.models import (
    Answer,
    AnswerSentence,
    ArticleMeta,
    BriefItem,
    Correction,
    Hit,
    Refusal,
)
from index.search import snapshot as snapshots
from index.search.analyzer import Analyzer
from index.search.query import AliasTable, Concept, Query, build_query
from index.search.searcher import SearchConfig, Searcher, SearchFilters


class FilterError(NewsbotError):
    """A filter names something the index does not hold (an outlet nobody indexed)."""


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
# "Who is Nvidia's chief executive?": a sentence where Nvidia only owns something else ("Nvidia's
# H100 chips") and the article is not about Nvidia answers about someone else's chief executive.
OWNER_PENALTY = 0.3
_OWNER = re.compile(
    r"\b([A-Z][\w&.-]*(?:\s+[A-Z][\w&.-]*)*|men|women|children|kids)(?:'s|’s)\s+(\w+)"
)
MAX_SUBJECT_WORDS = 6
# A follow-up's own words weigh this much more than the context carried over from before.
FOLLOWUP_ASK_WEIGHT = 4.0
# A brief lists this many articles, newest first, from this many of the best matches.
BRIEF_ITEMS = 5
BRIEF_POOL = 30
NEAREST_HEADLINES = 3
# Why and how questions: a sentence that gives no reason may hand over to the next one that does.
_REASON = re.compile(
    r"\b(because|since|so that|due to|as a result|in order to|after|amid|to (?:build|make|help|"
    r"keep|meet|train|cut|avoid|reach)|over (?:\w+ ){0,2}(?:risks?|concerns?|fears?|worries|"
    r"allegations?|claims?|problems?|issues?|defects?|safety))\b",
    re.IGNORECASE,
)
_WHY = re.compile(r"^\s*(why|how come|what (?:is|was) the reason|for what reason)\b", re.I)
_YES_NO = re.compile(
    r"^\s*(is|are|was|were|do|does|did|will|would|can|could|has|have|had|should)\b", re.I
)
# "What did Zuckerberg say?": the whole sentence is the answer; no part of it is "the" answer.
_SAYING = re.compile(
    r"^\s*what (?:did|does|do|has|have|will)\b.*\b(?:say|said|tell|announce|claim|write|post|think)\b\W*$",
    re.I,
)
REASON_BONUS = 0.3
# "Who scored the only goal of the final?": the deed asked about weighs this much more; the
# sentence naming the match ("Spain won the final") does not say who scored. Neutral on rtqa-dev
# and rtqa-2023, whose quiz questions rarely open with "who" and a verb.
WHO_VERB = 2.0
_WHO_DID = re.compile(
    r"^\s*who\s+(?!(?:is|was|are|were|will|would|has|have|had|did|does|do|can|could|should)\b)(\w+)",
    re.I,
)  # a sentence that gives a reason, for a why question


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
        doc_freq = snapshot.postings.doc_freq()
        # A positive IDF whatever the BM25 variant: it only weighs question words against each other.
        self._idf = np.log((n_docs + 1) / np.maximum(doc_freq, 1))
        self._doc_freq = doc_freq
        self._aliases = AliasTable(snapshot.analyzer, snapshot.aliases)
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

    def answer(
        self,
        question: str,
        filters: SearchFilters | None = None,
        conversation: Conversation | None = None,
        view: frozenset[str] | None = None,
    ) -> Answer:
        """A fact, a brief or a refusal with its reason, for ``question`` as people type it.
        ``view``: the sources the asker may see (one Discord server's), whatever the filters
        carried over from the conversation say."""
        question = clean_question(question, self.config.max_question_chars)
        reading = read_question(question, conversation)
        filters = in_view(filters if filters is not None else reading.filters, view)
        base = self._empty_answer(question, filters).model_copy(
            update={"read_as": reading.query if reading.followup else None}
        )
        if reading.intent is Intent.CHITCHAT:
            return base.model_copy(update={"refusal": Refusal.CHITCHAT})
        query = self.query(reading.query)
        if reading.intent is Intent.FOREIGN and not self._knows(query):
            return base.model_copy(update={"refusal": Refusal.NOT_ENGLISH})
        problem = self.searcher.filter_problem(filters)
        if problem:
            return base.model_copy(update={"refusal": Refusal.FILTERED, "detail": problem})
        base = base.model_copy(update={"corrections": query.corrections})
        if reading.intent is Intent.BRIEF:
            return self._brief(base, reading.topic, query, filters)
        hits, weights = self._retrieve(reading.query, query, filters)
        sentence_support, sentence = self._best_sentence(
            reading.query,
            hits,
            query,
            weights,
            followup=reading.followup,
            asked=filters.asked if filters else None,
        )
        support = (
            self._answer_support(sentence_support, hits[0], sentence.hit, weights)
            if sentence
            else 0.0
        )
        base = base.model_copy(update={"corrections": self._as_written(query, hits)})
        if sentence is None or support <= self.config.min_coverage:
            return base.model_copy(
                update={
                    "passages": hits,
                    "refusal": Refusal.NOT_COVERED,
                    "nearest": self._nearest(hits),
                }
            )
        return base.model_copy(
            update={
                "sentence": sentence,
                "support": round(support, 3),
                "passages": hits,
                "context": self._context(reading.query, sentence),
            }
        )

    def brief(
        self,
        topic: str,
        filters: SearchFilters | None = None,
        view: frozenset[str] | None = None,
    ) -> Answer:
        """The newest articles about ``topic`` ('' for all the news), as for "what's new?"."""
        filters = in_view(filters, view)
        topic = " ".join(topic.split())[: self.config.max_question_chars]
        base = self._empty_answer(f"Latest on {topic}" if topic else "Latest news", filters)
        problem = self.searcher.filter_problem(filters)
        if problem:
            return base.model_copy(update={"refusal": Refusal.FILTERED, "detail": problem})
        query = self.query(topic)
        return self._brief(
            base.model_copy(update={"corrections": query.corrections}), topic, query, filters
        )

    def _empty_answer(self, question: str, filters: SearchFilters | None) -> Answer:
        manifest = self.searcher.snapshot.manifest
        return Answer(
            question=question,
            indexed_at=manifest.created_at,
            articles=(
                int(self.searcher.visible(filters.origins).sum())
                if filters is not None and filters.origins is not None
                else self.searcher.snapshot.live_articles
            ),
            asked=filters.asked if filters else None,
        )

    def precheck(
        self,
        question: str,
        filters: SearchFilters | None = None,
        view: frozenset[str] | None = None,
    ) -> None:
        """Raise the error a question would meet, without searching: no words to search, or an
        outlet the index does not hold. Cheap, so a front end can refuse it privately first."""
        filters = in_view(filters, view)
        question = clean_question(question, self.config.max_question_chars)
        reading = read_question(question)
        if reading.intent is Intent.FACT and not self.query(reading.query).concepts:
            self.searcher.query_terms(reading.query)
        if filters is not None and filters.source:
            problem = self.searcher.filter_problem(
                SearchFilters(source=filters.source, origins=filters.origins)
            )
            if problem:
                raise FilterError(problem)

    def _retrieve(
        self, text: str, query: Query, filters: SearchFilters | None
    ) -> tuple[list[Hit], dict[Concept, float]]:
        """The passages to answer from, and what each question word weighs."""
        if not query.concepts:
            self.searcher.query_terms(text)  # raises the "no words to search" error
        hits = self.searcher.search_terms(
            self._retrieval_terms(query), self.config.passages, filters
        )
        return hits, self._weights(query)

    def fact_candidates(
        self, question: str, filters: SearchFilters | None = None
    ) -> tuple[list[Candidate], list[float]]:
        """Every candidate answer sentence of a standalone fact question, as :meth:`answer`
        weighs them, with the support each would answer with (for training the ranker)."""
        reading = read_question(clean_question(question, self.config.max_question_chars))
        query = self.query(reading.query)
        hits, weights = self._retrieve(reading.query, query, filters)
        found = self.candidates(
            reading.query,
            hits,
            query,
            weights,
            asked=filters.asked if filters else None,
            with_features=True,
        )
        supports = [self._answer_support(c.support, hits[0], c.hit, weights) for c in found]
        return found, supports

    def _as_written(self, query: Query, hits: list[Hit]) -> list[Correction]:
        """Corrections with the word as the articles write it ("Tesla", not the term "tesla")."""
        analyzer = self.searcher.snapshot.analyzer
        written = " ".join(f"{h.article.title} {h.text}" for h in hits[:NEAREST_HEADLINES])
        fixed = []
        for correction in query.corrections:
            surface = next(
                (
                    w
                    for w in re.findall(r"[\w'’-]+", written)
                    if analyzer.terms(w) == [correction.read]
                ),
                correction.read,
            )
            fixed.append(correction.model_copy(update={"read": surface}))
        return fixed

    def query(self, text: str) -> Query:
        snapshot = self.searcher.snapshot
        return build_query(text, snapshot.analyzer, snapshot.vocab, self._doc_freq, self._aliases)

    def _retrieval_terms(self, query: Query) -> list[str]:
        """The words as typed; a word's other forms and aliases only when the index lacks the
        word itself ("ECB" -> "European Central Bank"). Searching them always ("bought" beside
        "buy", "said" beside "say") only shuffled the ranking of rtqa-dev."""
        vocab = self.searcher.snapshot.vocab
        terms: list[str] = []
        for concept in query.concepts:
            first = concept.alternatives[0]
            if all(t in vocab for t in first):
                terms += first
            else:
                terms += [t for alt in concept.alternatives for t in alt]
        return terms

    def _knows(self, query: Query) -> bool:
        """Does the index hold most of these words? (a question in the index's own language)"""
        vocab = self.searcher.snapshot.vocab
        known = [c for c in query.concepts if any(t in vocab for t in c.terms)]
        return (
            bool(query.concepts)
            and len(known) >= 0.75 * len(query.concepts)
            and not query.corrections
        )

    def _brief(
        self, base: Answer, topic: str, query: Query, filters: SearchFilters | None
    ) -> Answer:
        """The newest articles about ``topic`` (all the news when it is ''), one sentence each."""
        if not topic or not query.concepts:
            hits = self.searcher.newest(BRIEF_ITEMS, filters)
            items = [BriefItem(hit=h, sentence=_lead(h)) for h in hits]
            return base.model_copy(update={"items": items, "topic": "", "passages": hits})
        analyzer = self.searcher.snapshot.analyzer
        hits = self.searcher.search_terms(query.terms, BRIEF_POOL, filters)
        need = max(1, math.ceil(len(query.concepts) / 2))
        chosen: dict[str, BriefItem] = {}
        for hit in hits:
            if hit.article.id in chosen:
                continue
            held = set(analyzer.terms(f"{hit.article.title}\n{hit.text}"))
            if sum(c.held_by(held) for c in query.concepts) < need:
                continue
            chosen[hit.article.id] = BriefItem(hit=hit, sentence=self._topic_sentence(hit, query))
        if not chosen:
            return base.model_copy(
                update={
                    "refusal": Refusal.NOT_COVERED,
                    "nearest": self._nearest(hits),
                    "topic": topic,
                }
            )
        newest = sorted(
            chosen.values(),
            key=lambda i: i.hit.article.published.timestamp() if i.hit.article.published else 0,
            reverse=True,
        )[:BRIEF_ITEMS]
        return base.model_copy(
            update={
                "items": newest,
                "topic": topic,
                "passages": [i.hit for i in newest],
                "corrections": self._as_written(query, [i.hit for i in newest]),
            }
        )

    def _topic_sentence(self, hit: Hit, query: Query) -> str:
        analyzer = self.searcher.snapshot.analyzer
        sentences = split_sentences(hit.text) or [hit.text]
        return max(
            sentences,
            key=lambda s: sum(c.held_by(set(analyzer.terms(s))) for c in query.concepts),
        )

    def _nearest(self, hits: list[Hit]) -> list[ArticleMeta]:
        seen: dict[str, ArticleMeta] = {}
        for hit in hits:
            seen.setdefault(hit.article.id, hit.article)
        return list(seen.values())[:NEAREST_HEADLINES]

    def _context(self, question: str, sentence: AnswerSentence) -> str | None:
        """For why and how questions, the next sentence when it gives the reason this one lacks."""
        if not _WHY.match(question) or _REASON.search(sentence.text):
            return None
        following = split_sentences(sentence.hit.text)
        for i, text in enumerate(following[:-1]):
            if text == sentence.text and _REASON.search(following[i + 1]):
                return following[i + 1]
        return None

    def _weights(self, query: Query) -> dict[Concept, float]:
        """A concept weighs as the word typed, when the index knows it; otherwise as its most
        common known alternative, the easiest way a sentence holds it."""
        vocab = self.searcher.snapshot.vocab
        weights: dict[Concept, float] = {}
        for concept in query.concepts:
            known = [
                sum(float(self._idf[vocab[t]]) for t in alt) / len(alt)
                for alt in concept.alternatives
                if all(t in vocab for t in alt)
            ]
            typed_known = all(t in vocab for t in concept.alternatives[0])
            weights[concept] = (
                known[0] if typed_known else min(known) if known else self._unknown_idf
            )
        return weights

    def _best_sentence(
        self,
        question: str,
        hits: list[Hit],
        query: Query,
        weights: dict[Concept, float],
        followup: bool = False,
        asked: datetime | None = None,
    ) -> tuple[float, AnswerSentence | None]:
        """The best answering sentence, and how much of the question it supports (0 to 1).

        Support is measured on one sentence, not a whole passage: a passage can hold every word
        of "the capital of Mars" in different sentences without saying anything about it.
        """
        candidates = self.candidates(question, hits, query, weights, followup, asked)
        if not candidates:
            return 0.0, None
        best = max(candidates, key=lambda c: c.rule_score)
        return best.support, AnswerSentence(
            text=best.text, start=best.start, end=best.end, hit=best.hit
        )

    def candidates(
        self,
        question: str,
        hits: list[Hit],
        query: Query,
        weights: dict[Concept, float],
        followup: bool = False,
        asked: datetime | None = None,
        with_features: bool = False,
    ) -> list[Candidate]:
        """Every sentence of the best passages that holds a question word, with its span and the
        features the ranker weighs."""
        analyzer = self.searcher.snapshot.analyzer
        kind = question_type(question)
        why = bool(_WHY.match(question))
        no_span = (bool(_YES_NO.match(question)) or bool(_SAYING.match(question))) and not why
        focus = question_focus(question, analyzer)
        asked_terms = {t for c in weights for t in c.terms}
        # The asking part (the last sentence, less relative clauses) says what is wanted. The
        # scene set before it, and asides like ", who changed his name to Ye,", are repeated by
        # many sentences on the topic that do not answer.
        ask_terms = set(analyzer.terms(asking_part(question)))
        emphasis = {c: w * (ASK_WEIGHT if c.terms & ask_terms else 1.0) for c, w in weights.items()}
        deed = _WHO_DID.match(question)
        if deed:
            for c in emphasis:
                if c.word.lower() == deed.group(1).lower():
                    emphasis[c] *= WHO_VERB
        owner = _owner(question, query)
        common = common_words("\n".join(hit.text for hit in hits))
        # A follow-up's answer holds at least one of its own words ("captain" in "who's the
        # captain?"), when any sentence does; the context only says where to look.
        own = [c for c in weights if c.terms & ask_terms] if followup else []
        top_score = max((h.score for h in hits), default=0.0) or 1.0
        question_terms = analyzer.terms(question)
        pairs = set(itertools.pairwise(question_terms))
        asking = {c: w for c, w in weights.items() if c.terms & ask_terms}
        total = sum(weights.values()) or 1.0
        # Per passage, not per sentence: the headline, outlet and passage words are shared.
        headings: dict[int, tuple[set[str], set[str], float, list[set[str]]]] = {}
        found: list[Candidate] = []
        for rank, hit, index, penalty, sentence in self._candidates(hits, own, weights):
            if id(hit) not in headings:
                title_terms = set(analyzer.terms(hit.article.title))
                lists = [analyzer.terms(s) for _, s in self._sentences(hit)]
                headings[id(hit)] = (
                    title_terms,
                    set(analyzer.terms(outlet_key(hit.article.source))),
                    # Only the ranker's features need the passage's share.
                    _share(weights, title_terms.union(*lists), set()) if with_features else 0.0,
                    lists,
                )
            title_terms, outlet, passage_share, sentence_lists = headings[id(hit)]
            term_list = sentence_lists[index]
            terms = set(term_list)
            # A reason often names none of the question's words ("…because it now wants to
            # build general intelligence"): under a headline that does, it may still answer.
            reason = bool(why and _REASON.search(sentence) and title_terms & asked_terms)
            if not terms & asked_terms and not reason:
                continue
            # Evidence for a yes or no often speaks in the scene the sentence before sets
            # ("...an Alaska Airlines flight." "None of the passengers was seriously hurt."): it
            # counts as the headline. (For other questions it cost rtqa-dev 0.03 answer@1.)
            before = set(sentence_lists[index - 1]) if no_span and index > 0 else set()
            if no_span:
                span = None
            elif why:
                span = _reason_span(sentence)
            else:
                span = find_span(
                    sentence,
                    asked_terms,
                    kind,
                    analyzer,
                    exclude=outlet,
                    common=common,
                    focus=focus,
                )
            share = _share(weights, terms, title_terms)
            echo = span is None and len(terms - asked_terms) < ECHO_NEW_TERMS
            bonded = not owner or _bonded(owner, sentence, title_terms, asked_terms, analyzer)
            features = {"ask_share": _share(emphasis, terms, title_terms | before)}
            if span is not None and not why:
                features["span"] = 1.0
                features["span_focus"] = float(
                    bool(focus & set(analyzer.terms(sentence[span[0] : span[1]])))
                )
            if with_features:
                features |= self._features(
                    sentence, span, term_list, kind, why, focus, asked_terms, pairs, asking, weights
                )
                neighbours = [
                    _share(weights, set(sentence_lists[j]), set())
                    for j in (index - 1, index + 1)
                    if 0 <= j < len(sentence_lists)
                ]
                features |= {
                    "share": share,
                    "own_share": _share(weights, terms, set()),
                    "passage_share": passage_share,
                    "neighbour_share": max(neighbours, default=0.0),
                    "headline": float(penalty > 0),
                    "article_rank": float(rank),
                    "bm25": hit.score / top_score,
                    "position": math.log1p(index + hit.position),
                    "age": _age(hit, asked),
                    "echo": float(echo),
                    "unbonded": float(not bonded),
                    "missing_max": max(
                        (w for c, w in weights.items() if not c.held_by(terms | title_terms)),
                        default=0.0,
                    )
                    / total,
                }
            score = (
                features["ask_share"]
                - penalty
                - RANK_PENALTY * rank
                - POSITION_PENALTY * (index + hit.position)
            )
            if echo:
                # It restates the question (a quiz page, a lead that echoes the premise)
                # and adds nothing that could answer it: the last resort, not the answer.
                score -= ECHO_PENALTY
            if why:
                score += REASON_BONUS if span is not None else -REASON_BONUS
            elif span is not None:
                score += NAME_BONUS if kind is QuestionType.THING else TYPED_BONUS
                if features["span_focus"]:
                    score += FOCUS_BONUS
            if not bonded:
                score -= OWNER_PENALTY
            # No span: a yes/no question is answered by the evidence, never by a guess.
            start, end = span if span else (0, 0 if no_span else len(sentence))
            found.append(
                Candidate(
                    text=sentence,
                    start=start,
                    end=end,
                    hit=hit,
                    features=features,
                    # About someone else's thing ("Meta's chief executive" for Nvidia's): no support.
                    support=share if bonded else 0.0,
                    rule_score=score,
                )
            )
        if with_features:
            ranker.add_redundancy(found, analyzer.terms)
        return found

    def _features(
        self,
        sentence: str,
        span: tuple[int, int] | None,
        term_list: list[str],
        kind: QuestionType,
        why: bool,
        focus: set[str],
        asked_terms: set[str],
        pairs: set[tuple[str, str]],
        asking: dict[Concept, float],
        weights: dict[Concept, float],
    ) -> dict[str, float]:
        """The ranker's features of one sentence that the hand-set score does not need."""
        analyzer = self.searcher.snapshot.analyzer
        terms = set(term_list)
        features = {
            "proximity": ranker.proximity(term_list, asked_terms),
            "length": math.log(max(1, len(term_list))),
            "new_terms": math.log1p(len(terms - asked_terms)),
            "reason": float(why and span is not None),
            "bigrams": ranker.bigrams(term_list, pairs),
            "focus_in": float(bool(focus & terms)),
            "ask_own": _share(asking, terms, set()) if asking else 0.0,
        }
        if span is not None and not why:
            span_terms = analyzer.terms(sentence[span[0] : span[1]])
            features[f"span_{kind.value}"] = 1.0
            at = len(analyzer.terms(sentence[: span[0]]))
            gap = ranker.words_between(term_list, range(at, at + len(span_terms)), asked_terms)
            features["span_near"] = 0.0 if gap is None else 1.0 / (1.0 + gap)
        return features

    def _answer_support(
        self, sentence_support: float, top: Hit, own: Hit, weights: dict[Concept, float]
    ) -> float:
        """Support on the top passage, or on the answer's own when that holds more of the
        question: the top-ranked one may be about something else ("say" without Zuckerberg)."""
        return max(
            self._support(sentence_support, h, weights)
            for h in {id(top): top, id(own): own}.values()
        )

    def _support(self, sentence_support: float, top: Hit, weights: dict[Concept, float]) -> float:
        """Mean of the sentence's and the top passage's share of the question's weight, or 0 when
        the passage holds too few question words: "the capital of Mars" is not answered by a
        passage about Mars alone."""
        present = set(self.searcher.snapshot.analyzer.terms(f"{top.article.title}\n{top.text}"))
        matched = [c for c in weights if c.held_by(present)]
        if len(matched) < min(len(weights), MIN_MATCHED_TERMS):
            return 0.0
        passage_support = sum(weights[c] for c in matched) / (sum(weights.values()) or 1.0)
        return (sentence_support + passage_support) / 2

    def _candidates(
        self, hits: list[Hit], own: list[Concept], weights: dict[Concept, float]
    ) -> list[tuple[int, Hit, int, float, str]]:
        """Every sentence of the candidate passages: (article rank, hit, index, penalty, text).
        With ``own`` concepts, only the sentences holding one of them, if any does."""
        every = [
            (rank, hit, index, penalty, sentence)
            for rank, hit in self._candidate_passages(hits)
            for index, (penalty, sentence) in enumerate(self._sentences(hit))
        ]
        if not own:
            return every
        analyzer = self.searcher.snapshot.analyzer
        context = [c for c in weights if c not in own]

        def fits(candidate: tuple[int, Hit, int, float, str]) -> bool:
            hit, sentence = candidate[1], candidate[4]
            if not any(o.held_by(set(analyzer.terms(sentence))) for o in own):
                return False
            # ...and in an article about what came before, not any "held" anywhere.
            article = set(analyzer.terms(f"{hit.article.title}\n{hit.text}"))
            return not context or any(c.held_by(article) for c in context)

        holding = [c for c in every if fits(c)]
        return holding or every

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


def continue_conversation(
    conversation: Conversation, answer: Answer, filters: SearchFilters | None = None
) -> Conversation:
    """The conversation with ``answer`` as its latest turn (a greeting leaves it as it was)."""
    if answer.refusal is Refusal.CHITCHAT:
        return conversation
    highlight = answer.sentence.highlight if answer.sentence else ""
    # A name or a figure carries over to the next question; a whole sentence would drown it.
    subject = highlight if highlight and len(highlight.split()) <= MAX_SUBJECT_WORDS else None
    if answer.items:
        subject = answer.topic or None
    asked = strip_wrappers(answer.question)
    question = answer.read_as or asked
    return conversation.add(Turn(question=question, asked=asked, subject=subject, filters=filters))


def _share(weights: dict[Concept, float], terms: set[str], title_terms: set[str]) -> float:
    """The share of the question's weight a sentence holds. Words of its article's title count
    for half: the sentence is read under its headline."""
    held = sum(
        w if c.held_by(terms) else w / 2 if c.held_by(title_terms | terms) else 0
        for c, w in weights.items()
    )
    return held / (sum(weights.values()) or 1.0)


def _owner(question: str, query: Query) -> tuple[list[Concept], set[str]] | None:
    """For "Who is Nvidia's chief executive?": the owner's concepts and the owned word."""
    match = _OWNER.search(question)
    if match is None:
        return None
    words = {w.lower() for w in match.group(1).split()}
    # "Federal Reserve's" may be one concept (an alias) or two.
    owners = [c for c in query.concepts if c.word and set(_bare(c.word).split()) <= words]
    return (owners, {match.group(2).lower()}) if owners else None


def _bare(word: str) -> str:
    return word.lower().removesuffix("'s").removesuffix("’s")


def _bonded(
    owner: tuple[list[Concept], set[str]],
    sentence: str,
    title_terms: set[str],
    asked: set[str],
    analyzer: Analyzer,
) -> bool:
    """Is the sentence about the owner's thing: the article is about the owner, or the owner
    stands right by a word of the question ("Nvidia's chief executive", "chief executive of
    Nvidia")?"""
    owners, _owned = owner
    if all(c.held_by(title_terms) for c in owners):
        return True
    words = analyzer.terms(sentence)
    owner_terms = {t for c in owners for t in c.terms}
    others = asked - owner_terms
    for i, word in enumerate(words):
        if word in owner_terms and others & set(words[max(0, i - 3) : i + 4]):
            return True
    return False


def _age(hit: Hit, asked: datetime | None) -> float:
    """log(1 + days from the article's publication to the question), 0 when either is unknown."""
    published = hit.article.published
    if published is None:
        return 0.0
    moment = asked or datetime.now(UTC)
    days = (moment - published).total_seconds() / 86400
    return math.log1p(max(0.0, days))


def _reason_span(sentence: str) -> tuple[int, int] | None:
    """From the word that gives the reason ("because…", "to build…") to the end of the sentence."""
    match = _REASON.search(sentence)
    if match is None:
        return None
    return match.start(), len(sentence.rstrip(" ."))


def _lead(hit: Hit) -> str:
    sentences = split_sentences(hit.text)
    return sentences[0] if sentences else hit.text


def in_view(filters: SearchFilters | None, view: frozenset[str] | None) -> SearchFilters | None:
    """``filters`` narrowed to the sources of ``view``; None leaves them as they are."""
    if view is None:
        return filters
    return (filters or SearchFilters()).model_copy(update={"origins": view})
