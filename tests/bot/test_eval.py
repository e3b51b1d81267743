"""`newsbot eval` reports the same figures as the team's reference scorer on the same output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bot.test_cli import run
from tests.helpers import shared_path

# What this version reaches on rtqa-dev (docs/quality.md); a drop of more than 0.03 fails.
FLOOR = {
    "gold@5": 0.902 - 0.03,
    "mrr@10": 0.766 - 0.03,
    "answer@1": 0.647 - 0.03,
    "highlight@1": 0.382 - 0.03,
    "refused@unanswerable": 0.950 - 0.03,
}
CEILING = {"refused@answerable": 0.049 + 0.03}
UNANSWERABLE = Path(__file__).parents[1] / "data" / "unanswerable-rtqa.jsonl"


def _printed(stdout: str) -> dict[str, float]:
    rows = [line.split() for line in stdout.splitlines()[1:]]
    return {name: float(value) for name, value in rows if name not in {"questions", "unanswerable"}}


def _reference(questions: Path, details: Path) -> dict[str, float]:
    scorer = shared_path("eval", "score.py")
    out = subprocess.run(
        [sys.executable, str(scorer), str(questions), str(details)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.splitlines()[0])


def test_eval_on_a_small_folder_matches_score_py(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    articles = [
        {
            "url": "https://e.test/gpu",
            "title": "Meta GPUs",
            "text": "Meta will have almost 600,000 GPUs by the end of 2024.",
            "published": "2024-01-19",
            "source": "e.test",
        },
        {
            "url": "https://e.test/cup",
            "title": "Cup final",
            "text": "Spain won the Women's World Cup, beating England in Sydney.",
            "published": "2023-08-20",
            "source": "e.test",
        },
        {
            "url": "https://e.test/rain",
            "title": "Rain",
            "text": "Heavy rain closed schools on the coast on Monday.",
            "published": "2023-01-02",
            "source": "e.test",
        },
    ]
    questions = [
        {
            "id": "1",
            "question": "How many GPUs will Meta have?",
            "answers": ["600,000"],
            "gold_urls": ["https://e.test/gpu"],
        },
        {
            "id": "2",
            "question": "Who won the Women's World Cup?",
            "answers": ["Spain"],
            "gold_urls": ["https://e.test/cup/"],
        },
        {
            "id": "3",
            "question": "Why did schools close?",
            "answers": ["snow"],
            "gold_urls": ["https://e.test/rain"],
        },
    ]
    (folder / "articles.jsonl").write_text("".join(json.dumps(a) + "\n" for a in articles))
    (folder / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    result = run("eval", str(folder), "--details", str(tmp_path / "details.jsonl"))
    assert result.returncode == 0, result.stderr
    ours = _printed(result.stdout)
    assert ours["gold@1"] == 1.0
    assert ours["answer@1"] == pytest.approx(2 / 3, abs=1e-3)
    assert ours["highlight@1"] == pytest.approx(2 / 3, abs=1e-3)  # "almost 600,000 GPUs", "Spain"
    reference = _reference(folder / "questions.jsonl", tmp_path / "details.jsonl")
    assert {k: reference[k] for k in ours} == ours


@pytest.mark.slow
def test_eval_on_rtqa_dev_matches_score_py_and_holds_its_level(tmp_path: Path) -> None:
    folder = shared_path("eval", "rtqa-dev")
    result = run(
        "eval",
        str(folder),
        "--details",
        str(tmp_path / "details.jsonl"),
        "--unanswerable",
        str(UNANSWERABLE),
    )
    assert result.returncode == 0, result.stderr
    ours = _printed(result.stdout)
    reference = _reference(folder / "questions.jsonl", tmp_path / "details.jsonl")
    assert {k: reference[k] for k in ours if k in reference} == {
        k: v for k, v in ours.items() if k in reference
    }
    for metric, floor in FLOOR.items():
        assert ours[metric] >= floor, f"{metric} fell to {ours[metric]} (floor {floor:.3f})"
    for metric, ceiling in CEILING.items():
        assert ours[metric] <= ceiling, f"{metric} rose to {ours[metric]} (ceiling {ceiling:.3f})"
