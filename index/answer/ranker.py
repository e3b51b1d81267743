"""Features of a candidate answer sentence, and a learned model over them.

Which sentence of the top passages answers a question is decided by hand-set weights (in
answerer.py) fitted on rtqa-dev's 102 questions. ``scripts/train_ranker.py`` fits a model over the
features below on rtqa-2023's 1,054 questions, cross-validated by week, to test whether learning
does better. It did not yet (docs/quality.md, "A learned answer ranker"), so the answerer still
picks by the hand-set score; the features and the model format stay so the next attempt starts
from a measured baseline. The model is plain JSON, scored with numpy: nothing loaded runs code.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from index.models import Hit

RANKER_VERSION = 1

# The order of the feature vector; the model names them, so a model trained on another list is
# refused rather than scored wrongly.
FEATURES = (
    "share",  # the question's IDF weight the sentence holds (headline words count half)
    "ask_share",  # the same, with the asking part's words weighing double
    "own_share",  # the weight the sentence holds by itself, without its headline
    "passage_share",  # the weight its passage holds
    "neighbour_share",  # the best share of the sentence before or after it
    "proximity",  # matched question words per word of the window holding them
    "span",  # it holds an answer of the asked type
    "span_focus",  # ...named with the kind of thing asked for ("Yellowstone National Park")
    "span_near",  # ...close to the question's words: 1 / (1 + words between)
    "span_number", "span_date", "span_person", "span_place", "span_thing",  # span x type
    "reason",  # a why question, and the sentence gives a reason
    "echo",  # no span, and few words beyond the question's: it restates the question
    "unbonded",  # "Nvidia's chief executive" answered with someone else's
    "headline",
    "article_rank",  # 0 for the best article
    "bm25",  # the passage's BM25 score over the best passage's
    "position",  # log(1 + the sentence's place in its article)
    "age",  # log(1 + days between publication and the question)
    "length",  # log(words)
    "new_terms",  # log(1 + words the question does not hold)
    "bigrams",  # share of the question's word pairs the sentence holds side by side
    "ask_own",  # the asking part's weight the sentence holds by itself
    "missing_max",  # the heaviest question word the sentence and its headline lack, as a share
    "focus_in",  # the sentence names the kind of thing asked for ("which airline": "airline")
    "span_echoed",  # log(1 + other candidate sentences that repeat the span)
    "span_in_title",  # the span's words are in the article's headline
)  # fmt: skip


@dataclass
class Candidate:
    """A sentence that may answer, with its span and its features."""

    text: str
    start: int
    end: int
    hit: Hit
    features: dict[str, float]
    support: float  # the question's weight it holds, 0 when it answers about someone else's
    rule_score: float = 0.0

    def vector(self) -> np.ndarray:
        return np.array([self.features.get(name, 0.0) for name in FEATURES], dtype=np.float64)


class RankerModel(BaseModel):
    """A standardised logistic model over ``FEATURES``."""

    model_config = ConfigDict(extra="forbid")

    version: int
    features: list[str]
    mean: list[float]
    scale: list[float]
    weights: list[float]
    bias: float
    trained_on: str = ""
    cross_validated: dict[str, float] = {}

    @model_validator(mode="after")
    def _consistent(self) -> RankerModel:
        n = len(self.features)
        if not (len(self.mean) == len(self.scale) == len(self.weights) == n):
            raise ValueError("mean, scale and weights must have one value per feature")
        if any(s <= 0 or not math.isfinite(s) for s in self.scale):
            raise ValueError("every scale must be a positive number")
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        """The probability that each row's sentence holds the answer."""
        z = ((rows - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.weights)
        return 1.0 / (1.0 + np.exp(-(z + self.bias)))


def words_between(terms: list[str], span: range, asked: set[str]) -> int | None:
    """Content words between the span (positions in ``terms``) and the nearest question word
    outside it, or None when the sentence holds none."""
    gaps = [
        span.start - i - 1 if i < span.start else i - span.stop
        for i, term in enumerate(terms)
        if term in asked and i not in span
    ]
    return min(gaps) if gaps else None


def add_redundancy(candidates: list[Candidate], analyzer_terms: Callable[[str], list[str]]) -> None:
    """An answer the other sentences repeat is likelier the answer ("Korean Air" in three
    passages against a name one sentence mentions once)."""
    texts = [c.text.lower() for c in candidates]
    for c in candidates:
        span = c.text[c.start : c.end].strip().lower()
        if not c.features.get("span") or len(span) < 3:
            continue
        echoed = sum(span in t for t in texts) - 1
        c.features["span_echoed"] = math.log1p(max(0, echoed))
        terms = set(analyzer_terms(span))
        title = set(analyzer_terms(c.hit.article.title))
        c.features["span_in_title"] = float(bool(terms) and terms <= title)


def bigrams(terms: list[str], pairs: set[tuple[str, str]]) -> float:
    """The share of the question's adjacent word pairs that the sentence holds adjacent."""
    if not pairs:
        return 0.0
    return len(pairs & set(itertools.pairwise(terms))) / len(pairs)


def proximity(terms: list[str], asked: set[str]) -> float:
    """Distinct question words per word of the shortest stretch from the first to the last."""
    at = [i for i, term in enumerate(terms) if term in asked]
    distinct = len({terms[i] for i in at})
    if distinct < 2:
        return 0.0
    return distinct / (at[-1] - at[0] + 1)
