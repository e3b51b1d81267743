"""The article the project started from, indexed alone, answers the question it came with."""

import shutil
from pathlib import Path

from index.answer.answerer import Answerer
from index.ingest.sources import load_sources
from index.search.build import build_snapshot
from index.search.searcher import Searcher
from tests.helpers import shared_path


def test_seed_article_answers_how_many_gpus(tmp_path: Path) -> None:
    seed = shared_path("seed", "meta-doubles-down-on-ai.txt")
    shutil.copy(seed, tmp_path / seed.name)
    loaded = load_sources([tmp_path / seed.name])
    [article] = loaded.articles
    assert article.title == "Meta Doubles Down On AI, Fuses Efforts"
    assert "Next story loading" not in article.text
    answer = Answerer(Searcher(build_snapshot(loaded.articles))).answer(
        "How many GPUs will Meta have?"
    )
    assert answer.sentence is not None
    assert "600,000" in answer.sentence.highlight
    assert answer.sentence.highlight == "almost 600,000 GPUs"
