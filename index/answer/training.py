"""Training the answer ranker: candidate sentences of real questions, labelled by whether they hold
the quiz's answer, a logistic fit, and cross-validation grouped by the week a question was asked.

Weeks, not questions, are held out: one week's questions share their stories, so a question-level
split would grade the model on stories it has already read. Used by ``scripts/train_ranker.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from index.answer.answerer import Answerer
from index.answer.ranker import FEATURES, RANKER_VERSION, RankerModel
from index.dates import parse_date
from index.errors import NewsbotError
from index.evaluate import EvalQuestion, contains_answer
from index.search.searcher import SearchFilters

L2 = 1.0  # ridge on the standardised weights: a few dozen features, tens of thousands of rows
NEWTON_STEPS = 30


@dataclass
class Group:
    """One question's candidates: feature rows, whether each holds the answer, their support."""

    question: EvalQuestion
    week: str
    rows: np.ndarray
    labels: np.ndarray
    supports: np.ndarray
    rule: np.ndarray  # the hand-set score the answerer picks by


def week_of(asked: str | None) -> str:
    if not asked:
        return "undated"
    year, week, _ = date.fromisoformat(asked[:10]).isocalendar()
    return f"{year}-W{week:02d}"


def collect(answerer: Answerer, questions: Iterable[EvalQuestion]) -> list[Group]:
    """The candidates of every question, answered as of the day it was asked."""
    groups = []
    for q in questions:
        asked = parse_date(q.asked)
        filters = SearchFilters(asked=asked) if asked else None
        try:
            candidates, supports = answerer.fact_candidates(q.question, filters)
        except NewsbotError:
            candidates, supports = [], []
        rows = (
            np.stack([c.vector() for c in candidates])
            if candidates
            else np.zeros((0, len(FEATURES)))
        )
        labels = np.array([contains_answer(c.text, q.answers) for c in candidates], dtype=bool)
        rule = np.array([c.rule_score for c in candidates])
        groups.append(Group(q, week_of(q.asked), rows, labels, np.array(supports), rule))
    return groups


def fit(groups: Sequence[Group], l2: float = L2) -> RankerModel:
    """A conditional logit (a softmax over each question's candidates) by Newton's method on
    standardised features: it learns which sentence of a question's candidates holds the
    answer, which is the choice the answerer makes. Questions with no such candidate teach it
    nothing and are left out."""
    rows, _ = stack(groups)
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale < 1e-9] = 1.0
    useful = [
        ((g.rows - mean) / scale, g.labels / g.labels.sum())
        for g in groups
        if len(g.rows) and g.labels.any()
    ]
    w = np.zeros(len(FEATURES))
    for _ in range(NEWTON_STEPS):
        gradient = l2 * w
        hessian = np.eye(len(w)) * l2
        for x, target in useful:
            z = x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            mean_x = p @ x
            # Any sentence holding the answer will do: the target is the model's own spread
            # over the sentences that hold it (the likelihood of picking one of them).
            held = p * (target > 0)
            gradient += mean_x - (held / held.sum()) @ x
            hessian += (x * p[:, None]).T @ x - np.outer(mean_x, mean_x)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return RankerModel(
        version=RANKER_VERSION,
        features=list(FEATURES),
        mean=[round(float(v), 6) for v in mean],
        scale=[round(float(v), 6) for v in scale],
        weights=[round(float(v), 6) for v in w],
        bias=0.0,
    )


def stack(groups: Sequence[Group]) -> tuple[np.ndarray, np.ndarray]:
    rows = [g.rows for g in groups if len(g.rows)]
    labels = [g.labels for g in groups if len(g.rows)]
    if not rows:
        return np.zeros((0, len(FEATURES))), np.zeros(0, dtype=bool)
    return np.vstack(rows), np.concatenate(labels)


@dataclass
class Pick:
    """The held-out choice for one question: right or not, and its confidence."""

    group: Group
    right: bool
    confidence: float
    support: float


def picks(model: RankerModel | None, groups: Iterable[Group]) -> list[Pick]:
    """Each question's best candidate by ``model``, or by the hand-set score when it is None."""
    out = []
    for g in groups:
        if not len(g.rows):
            out.append(Pick(g, False, 0.0, 0.0))
            continue
        scores = g.rule if model is None else model.score(g.rows)
        best = int(np.argmax(scores))
        out.append(Pick(g, bool(g.labels[best]), float(scores[best]), float(g.supports[best])))
    return out


def folds_by_week(groups: Sequence[Group], folds: int = 0) -> list[tuple[list[Group], list[Group]]]:
    """(train, test) splits that keep each week whole: one week per fold, or ``folds`` folds
    of weeks dealt in turn."""
    weeks = sorted({g.week for g in groups})
    fold_of = {w: (i % folds if folds else i) for i, w in enumerate(weeks)}
    return [
        (
            [g for g in groups if fold_of[g.week] != fold],
            [g for g in groups if fold_of[g.week] == fold],
        )
        for fold in sorted(set(fold_of.values()))
    ]


def cross_validate(
    groups: Sequence[Group], folds: int = 0, l2: float = L2, train_weeks: int | None = None
) -> list[Pick]:
    """Held-out picks for every question, each answered by a model trained on other weeks
    (only the earliest ``train_weeks`` of them, for a learning curve)."""
    out: list[Pick] = []
    for train, test in folds_by_week(groups, folds):
        if train_weeks is not None:
            kept = sorted({g.week for g in train})[:train_weeks]
            train = [g for g in train if g.week in kept]
        out += picks(fit(train, l2=l2), test)
    return out
