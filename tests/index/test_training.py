"""The ranker's training: candidates labelled by the answer, a fit that ranks them, folds that keep
weeks whole, and a model that is plain JSON."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.answer.answerer import Answerer
from index.answer.ranker import FEATURES, RankerModel
from index.answer.training import collect, fit, folds_by_week, picks, week_of
from index.evaluate import EvalQuestion
from index.ingest.sources import load_sources
from index.search.build import build_snapshot
from index.search.searcher import Searcher
from tests.corpus import write_corpus

QUESTIONS = [
    EvalQuestion(id="a", question="How many GPUs will Meta have?", asked="2024-02-01", answers=["600,000"]),
    EvalQuestion(id="b", question="How many H100 chips did Meta buy?", asked="2024-02-02", answers=["150,000"]),
    EvalQuestion(id="c", question="Who did City beat on the final day?", asked="2024-06-01", answers=["West Ham"]),
]  # fmt: skip


def test_candidates_are_labelled_and_a_fitted_model_ranks_the_answer_first(tmp_path: Path) -> None:
    snapshot = build_snapshot(load_sources([write_corpus(tmp_path / "news")]).articles)
    groups = collect(Answerer(Searcher(snapshot)), QUESTIONS)
    assert all(g.rows.shape == (len(g.labels), len(FEATURES)) for g in groups)
    assert all(g.labels.any() and not g.labels.all() for g in groups[:2])
    model = fit(groups)
    assert all(p.right for p in picks(model, groups))
    # Plain JSON, read back with validation: the same scores, nothing that can run code.
    again = RankerModel.model_validate_json(model.model_dump_json())
    assert np.allclose(again.score(groups[0].rows), model.score(groups[0].rows))


def test_folds_hold_out_whole_weeks(tmp_path: Path) -> None:
    snapshot = build_snapshot(load_sources([write_corpus(tmp_path / "news")]).articles)
    groups = collect(Answerer(Searcher(snapshot)), QUESTIONS)
    assert week_of("2024-02-01") == week_of("2024-02-02") != week_of("2024-06-01")
    splits = folds_by_week(groups)
    assert len(splits) == 2
    for train, test in splits:
        assert not {g.week for g in train} & {g.week for g in test}
        assert len(train) + len(test) == len(groups)
