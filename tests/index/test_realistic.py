"""The realistic question set holds its level, category by category (see docs/quality.md)."""

from __future__ import annotations

from pathlib import Path

from tests.realistic import run_set, summary

# What the set reached when these floors were set, less 0.05: a category that falls below has
# lost something a user would notice. Rates where lower is better have ceilings instead.
FLOORS = {
    "plain": 0.95, "lowercase": 0.90, "wrapper": 0.90, "typo": 0.86, "alias": 0.86,
    "open": 0.95, "why_yesno": 0.87, "followup": 0.82, "foreign": 0.95, "chitchat": 0.95,
    "unanswerable": 0.76, "filtered": 0.95, "all": 0.89,
}  # fmt: skip
CEILINGS = {"refused_answerable": 0.081, "confidently_wrong": 0.084}


def test_every_category_holds_its_level(tmp_path: Path) -> None:
    shares = summary(run_set(tmp_path))
    low = {c: (shares[c], floor) for c, floor in FLOORS.items() if shares[c] < floor}
    high = {c: (shares[c], cap) for c, cap in CEILINGS.items() if shares[c] > cap}
    assert not low and not high, f"below floor: {low}; above ceiling: {high}"


def test_the_set_covers_every_category_with_enough_questions() -> None:
    import json

    from tests.realistic import QUESTIONS

    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 150
    categories = {r["category"] for r in rows}
    assert set(FLOORS) - {"all"} <= categories
    assert sum("conversation" in r for r in rows) >= 12
