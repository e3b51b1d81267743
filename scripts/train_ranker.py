"""Fit the answer-sentence ranker on an evaluation folder and report it, cross-validated by week.

    python scripts/train_ranker.py ../shared/eval/rtqa-2023 --dev ../shared/eval/rtqa-dev \
        [--out ranker.json] [--curve]

Prints, for the hand-set score the answerer uses and for the learned model: answer@1 of the
chosen sentence (before refusals) on the folder's fresh questions and on all of them, each week
answered by a model trained on the other weeks; the model's weights; with ``--dev``, the model
trained on every week, checked on a folder it never saw; with ``--curve``, held-out answer@1
against the number of training weeks. ``--out`` writes the model trained on every week as JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from index.answer.answerer import Answerer
from index.answer.training import Group, Pick, collect, cross_validate, fit, picks
from index.evaluate import read_questions
from index.ingest.sources import load_sources
from index.search import snapshot as snapshots
from index.search.build import build_snapshot


def groups_of(folder: Path) -> tuple[list[Group], set[str]]:
    questions = read_questions(folder / "questions.jsonl")
    lines = (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    fresh = {
        json.loads(line)["id"] for line in lines if line.strip() and json.loads(line).get("fresh")
    }
    with tempfile.TemporaryDirectory(prefix="newsbot-train-") as tmp:
        snapshots.save(
            build_snapshot(load_sources([folder / "articles.jsonl"]).articles), Path(tmp)
        )
        answerer = Answerer.load(Path(tmp))
        return collect(answerer, questions), fresh


def share(chosen: list[Pick], ids: set[str] | None = None) -> str:
    kept = [p for p in chosen if ids is None or p.group.question.id in ids]
    return f"{sum(p.right for p in kept) / max(1, len(kept)):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--dev", type=Path, help="a second folder, never trained on")
    parser.add_argument("--out", type=Path, help="write the model trained on every week here")
    parser.add_argument("--curve", action="store_true", help="print a learning curve")
    args = parser.parse_args()

    groups, fresh = groups_of(args.folder)
    weeks = len({g.week for g in groups})
    print(
        f"{len(groups)} questions over {weeks} weeks, {sum(len(g.rows) for g in groups)} candidates"
    )
    held_out = cross_validate(groups)
    hand = picks(None, groups)
    print("| picker | fresh answer@1 | all answer@1 |")
    print("|---|---|---|")
    print(f"| hand-set score | {share(hand, fresh)} | {share(hand)} |")
    print(f"| learned, leave one week out | {share(held_out, fresh)} | {share(held_out)} |")
    oracle = sum(bool(g.labels.any()) for g in groups if g.question.id in fresh)
    print(
        f"(a candidate holds the answer for {oracle / max(1, len(fresh)):.3f} of the fresh questions)"
    )

    model = fit(groups)
    ranked = sorted(zip(model.features, model.weights, strict=True), key=lambda fw: -abs(fw[1]))
    print("weights (standardised):", ", ".join(f"{f} {w:+.2f}" for f, w in ranked))
    if args.dev:
        dev, _ = groups_of(args.dev)
        print(
            f"{args.dev.name}: hand-set {share(picks(None, dev))}, learned {share(picks(model, dev))}"
        )
    if args.curve:
        for n in (2, 5, 10, 20, 30, 40, weeks - 1):
            print(
                f"train weeks {n:2}: fresh answer@1 {share(cross_validate(groups, train_weeks=n), fresh)}"
            )
    if args.out:
        args.out.write_text(model.model_dump_json(indent=1), encoding="utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
