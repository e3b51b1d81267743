import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from index.errors import IndexCorruptError, IndexMissingError, IndexVersionError
from index.ingest.sources import load_sources
from index.search import snapshot
from index.search.blob import Blob, Part
from index.search.build import build_snapshot
from index.search.searcher import Searcher
from tests.corpus import write_corpus


@pytest.fixture
def built(tmp_path: Path) -> snapshot.Snapshot:
    return build_snapshot(load_sources([write_corpus(tmp_path / "news")]).articles)


def _live(path: Path) -> Path:
    return snapshot.live_folder(path)


def test_round_trip_keeps_every_part(built: snapshot.Snapshot, tmp_path: Path) -> None:
    snapshot.save(built, tmp_path / "idx")
    loaded = snapshot.load(tmp_path / "idx")
    assert loaded.vocab == built.vocab
    assert loaded.articles == built.articles
    assert loaded.passages == built.passages
    assert loaded.manifest.analyzer == built.manifest.analyzer
    np.testing.assert_array_equal(loaded.postings.weights, built.postings.weights)
    question = "How many GPUs will Meta have?"
    assert [h.text for h in Searcher(loaded).search(question)] == [
        h.text for h in Searcher(built).search(question)
    ]


def test_files_are_plain_numpy_and_json(built: snapshot.Snapshot, tmp_path: Path) -> None:
    folder = snapshot.save(built, tmp_path / "idx")
    for npy in folder.glob("*.npy"):
        np.load(npy, allow_pickle=False)  # would raise if an object array (pickle) were stored
    json.loads((folder / "manifest.json").read_text())
    assert not any(p.suffix in {".pkl", ".pickle"} for p in folder.iterdir())


def test_a_new_save_replaces_the_old_snapshot_and_cleans_up_after_a_grace_period(
    built: snapshot.Snapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import subprocess
    import sys

    first = snapshot.save(built, tmp_path / "idx")
    second = snapshot.save(built, tmp_path / "idx")
    assert _live(tmp_path / "idx") == second
    # A reader in another process may have read CURRENT just before the swap: the old one stays.
    assert first.exists()
    # A dead writer's temporary folder goes at once; a live writer's stays.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (tmp_path / "idx" / "snapshots" / f".tmp-{dead.stdout.strip()}-abc").mkdir()
    (tmp_path / "idx" / "snapshots" / f".tmp-{os.getpid()}-def").mkdir()
    later = snapshot.now().timestamp() + snapshot.GRACE_SECONDS + 1
    monkeypatch.setattr(snapshot, "now", lambda: datetime.fromtimestamp(later, UTC))
    snapshot.tidy(tmp_path / "idx")
    assert sorted(p.name for p in (tmp_path / "idx" / "snapshots").iterdir()) == sorted(
        [second.name, f".tmp-{os.getpid()}-def"]
    )


def test_a_failed_save_leaves_the_old_index_live(built: snapshot.Snapshot, tmp_path: Path) -> None:
    good = snapshot.save(built, tmp_path / "idx")
    # A part that cannot be written fails the save mid-write, after the arrays.
    broken = dataclasses.replace(built, texts=Blob([Part(pieces=[None], size=1)]))  # type: ignore[list-item]
    with pytest.raises(TypeError):
        snapshot.save(broken, tmp_path / "idx")
    assert _live(tmp_path / "idx") == good
    assert snapshot.load(tmp_path / "idx").articles == built.articles
    assert [p.name for p in (tmp_path / "idx" / "snapshots").iterdir()] == [good.name]


def test_missing_index_says_to_reindex(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="run `newsbot reindex`"):
        snapshot.load(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexMissingError, match="no newsbot index"):
        snapshot.load(tmp_path / "empty")


def test_wrong_version_says_to_reindex(built: snapshot.Snapshot, tmp_path: Path) -> None:
    folder = snapshot.save(built, tmp_path / "idx")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["version"] = 999
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexVersionError) as err:
        snapshot.load(tmp_path / "idx")
    assert str(err.value) == (
        f"The index at {tmp_path / 'idx'} is in format version 999, but this newsbot reads "
        f"version {snapshot.FORMAT_VERSION}; run `newsbot reindex` to rebuild it."
    )


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (
            lambda f: (f / "weights.npy").write_bytes((f / "weights.npy").read_bytes()[:-8]),
            "weights.npy is",
        ),
        (lambda f: (f / "docs.npy").unlink(), "docs.npy"),
        (lambda f: (f / "manifest.json").write_text("{not json"), "unreadable manifest"),
        (lambda f: (f / "passages.txt").write_bytes(b"short"), "passages.txt is 5 bytes"),
        (lambda f: (f / "articles.jsonl").unlink(), "articles.jsonl"),
        (lambda f: (f / "vocab.json").write_text('["x"]'), "vocab.json"),
    ],
)
def test_corrupt_files_say_what_is_wrong(
    built: snapshot.Snapshot, tmp_path: Path, damage, expected: str
) -> None:
    folder = snapshot.save(built, tmp_path / "idx")
    damage(folder)
    with pytest.raises(IndexCorruptError) as err:
        snapshot.load(tmp_path / "idx")
    message = str(err.value)
    assert expected in message
    assert message.endswith("run `newsbot reindex` to rebuild it.")
    assert "\n" not in message
