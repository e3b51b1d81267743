"""A refresh that dies at any stage leaves a complete index, and the next one catches up with the
store, even when it fetches nothing new."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import index.ingest.reindex as reindex_module
import index.ingest.store as store_module
import index.search.blob as blob_module
import index.search.build as build_module
import index.search.snapshot as snapshot_module
from index.ingest.reindex import reindex
from index.models import SourceRef
from index.search import snapshot

ARTICLE = """---
title: Harbour report {n}
source: Test Times
published: 2024-05-0{n}
---
The harbour master of pier {n} counted {count} ships in the bay on Monday, a record for the spring.
"""


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even ``except Exception``."""


def write_source(folder: Path, count: str) -> None:
    folder.mkdir(exist_ok=True)
    for n in (1, 2, 3):
        (folder / f"harbour-{n}.md").write_text(ARTICLE.format(n=n, count=count), encoding="utf-8")


def write_piers(folder: Path, n: int, counts: dict[int, str] | None = None) -> None:
    """``n`` one-sentence articles, each with its own URL; pier ``i`` counts ``counts[i]``
    ships (``i`` by default)."""
    folder.mkdir()
    for i in range(n):
        count = (counts or {}).get(i, str(i))
        (folder / f"pier-{i}.md").write_text(
            f"---\ntitle: Pier {i}\nurl: https://news.example/pier/{i}\n---\n"
            f"The harbour master of pier {i} counted {count} ships in the bay.\n",
            encoding="utf-8",
        )


def served_text(index: Path) -> str:
    """Every passage a search can find (a removed article's may still be in the files)."""
    return " ".join(passage.text for passage in snapshot.load(index).passages)


def die_on_call(monkeypatch: pytest.MonkeyPatch, owner: object, name: str, after: int = 0) -> None:
    original: Callable[..., object] = getattr(owner, name)
    calls = {"n": 0}

    def dying(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] > after:
            raise Killed
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, dying)


def killed_during(
    monkeypatch: pytest.MonkeyPatch, stage: tuple[object, str, int], run: Callable[[], object]
) -> None:
    """Run ``run`` with the stage's function dying on its call number ``after + 1``."""
    owner, name, after = stage
    with monkeypatch.context() as patch:
        die_on_call(patch, owner, name, after)
        with pytest.raises(Killed):
            run()


STAGES = {
    "after fetching, before analysis": (reindex_module, "_analyze_pending", 0),
    "storing the analysis": (store_module.ArticleStore, "_write_analyses", 0),
    "adding terms to the store's vocabulary": (store_module.ArticleStore, "_interned", 1),
    "writing the index files": (snapshot_module, "_write_files", 0),
    "swapping CURRENT": (snapshot_module, "_write_atomically", 0),
}


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_refresh_killed_at_any_stage_serves_a_whole_version_and_the_next_converges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    source, index, store = tmp_path / "news", tmp_path / "idx", tmp_path / "store.sqlite3"
    refs = [SourceRef(kind="path", location=str(source))]
    write_source(source, "41")
    reindex(refs, index, store_path=store)
    assert "41 ships" in served_text(index)

    write_source(source, "97")
    killed_during(monkeypatch, STAGES[stage], lambda: reindex(refs, index, store_path=store))
    served = served_text(index)  # a whole version: the old one, or the new one if it was swapped
    assert served.count("ships") == 3 and ("41 ships" in served) != ("97 ships" in served)

    report = reindex(refs, index, store_path=store)  # the source has not changed since
    served = served_text(index)
    assert "97 ships" in served and "41 ships" not in served, (stage, report)


PATCH_STAGES = {
    "storing a changed article with its analysis": (store_module.ArticleStore, "put_analyzed", 0),
    "remembering what a file held": (store_module.ArticleStore, "set_file_records", 0),
    "patching the live index": (reindex_module, "replace_articles", 0),
    "writing the patched index": (snapshot_module, "_write_files", 0),
    "linking the unchanged text parts": (blob_module, "link_file", 0),
    "writing the new article lines": (snapshot_module, "save_parts", 1),
    "swapping in the patched index": (snapshot_module, "_write_atomically", 0),
}


@pytest.mark.parametrize("stage", list(PATCH_STAGES))
def test_a_patching_refresh_killed_at_any_stage_serves_a_whole_version_and_the_next_converges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    """One article of ten changes: the refresh patches the live index instead of rebuilding
    it, and every one of its new write steps must be as safe to kill as a rebuild."""
    source, index, store = tmp_path / "news", tmp_path / "idx", tmp_path / "store.sqlite3"
    refs = [SourceRef(kind="path", location=str(source))]
    write_piers(source, 10, counts={4: "41"})
    reindex(refs, index, store_path=store)
    changed = source / "pier-4.md"
    changed.write_text(changed.read_text().replace("41 ships", "97 ships"), encoding="utf-8")
    killed_during(monkeypatch, PATCH_STAGES[stage], lambda: reindex(refs, index, store_path=store))
    served = served_text(index)
    assert served.count("ships") == 10 and ("41 ships" in served) != ("97 ships" in served)

    reindex(refs, index, store_path=store)  # the source has not changed since
    served = served_text(index)
    assert "97 ships" in served and "41 ships" not in served and served.count("ships") == 10


@pytest.mark.parametrize(
    "stage",
    [
        (store_module.ArticleStore, "put_analyzed", 4),
        (reindex_module._Fresh, "built", 0),
        (build_module.SnapshotBuilder, "_finished_texts", 0),
        (snapshot_module, "_write_files", 0),
    ],
    ids=[
        "storing the archive",
        "building as it reads",
        "finishing the texts written as it read",
        "writing the first index",
    ],
)
def test_a_first_build_killed_midway_is_finished_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: tuple[object, str, int]
) -> None:
    """The first build indexes the archive as it reads it; killed, it leaves no index, and the
    next run indexes every article once, from the store and the rest of the archive."""
    archive, index, store = tmp_path / "news.jsonl", tmp_path / "idx", tmp_path / "store.sqlite3"
    archive.write_text(
        "".join(
            f'{{"url": "https://news.example/{n}", "title": "Pier {n}", '
            f'"text": "The harbour master of pier {n} counted {n} ships in the bay."}}\n'
            for n in range(12)
        ),
        encoding="utf-8",
    )
    refs = [SourceRef(kind="path", location=str(archive))]
    killed_during(monkeypatch, stage, lambda: reindex(refs, index, store_path=store))
    assert not snapshot.exists(index)
    report = reindex(refs, index, store_path=store)
    assert report.articles == 12
    assert served_text(index).count("ships") == 12
    # The texts the killed build wrote as it read went with it; nothing is left beside the index.
    assert [p.name for p in (index / "snapshots").iterdir()] == [snapshot.live_folder(index).name]


TAIL_STAGES = {
    "storing the new article": (store_module.ArticleStore, "put_analyzed", 0),
    "writing the tail": (snapshot_module, "_write_files", 0),
    "linking the base's postings": (snapshot_module, "link_file", 0),
    "swapping in the index with its tail": (snapshot_module, "_write_atomically", 0),
}


@pytest.mark.parametrize("stage", list(TAIL_STAGES))
def test_a_refresh_adding_a_tail_killed_at_any_stage_serves_a_whole_version_and_converges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    """One article added to forty: the refresh writes it as the index's tail and links the
    base's files; killed at any step, the old index or the new one is served whole."""
    source, index, store = tmp_path / "news", tmp_path / "idx", tmp_path / "store.sqlite3"
    refs = [SourceRef(kind="path", location=str(source))]
    write_piers(source, 40)
    reindex(refs, index, store_path=store)
    (source / "ferry.md").write_text(
        "---\ntitle: Ferry\nurl: https://news.example/ferry\n---\n"
        "The ferry carried 977 passengers across the sound.\n",
        encoding="utf-8",
    )
    killed_during(monkeypatch, TAIL_STAGES[stage], lambda: reindex(refs, index, store_path=store))
    served = served_text(index)
    assert served.count("ships") == 40 and served.count("977 passengers") <= 1

    report = reindex(refs, index, store_path=store)
    assert report.index_update in ("patched", "rebuilt", "unchanged")
    live = snapshot.load(index)
    assert served_text(index).count("977 passengers") == 1 and live.manifest.counts.articles == 41
    assert not snapshot.verify(index)
