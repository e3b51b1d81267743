"""The index on disk: a versioned folder of plain files, swapped in atomically.

Layout of the index folder::

    CURRENT                  name of the live snapshot (replaced atomically)
    snapshots/<name>/        one complete snapshot:
        manifest.json        format version, analyzer, BM25 and chunking settings, counts, sizes
        vocab.json           the terms; a term's id is its position
        offsets.npy docs.npy tfs.npy weights.npy base.npy doc_len.npy   the BM25 matrix
        articles.jsonl       article metadata, one per line
        passages.jsonl       passage text with its article and position, one per line

Arrays are read with ``allow_pickle=False`` and JSON with the json module: nothing loaded can
run code. A new snapshot is written beside the live one and only then named in CURRENT, so a
crash mid-write leaves the previous index untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ValidationError

from index.analyzer import Analyzer, AnalyzerConfig
from index.bm25 import BM25Params, Postings
from index.chunking import ChunkingConfig
from index.errors import IndexCorruptError, IndexMissingError, IndexVersionError
from index.models import ArticleMeta, Passage

FORMAT_VERSION = 1
_ARRAYS = ("offsets", "docs", "tfs", "weights", "base", "doc_len")
_REBUILD = "run `newsbot reindex` to rebuild it"


class Counts(BaseModel):
    articles: int
    passages: int
    terms: int
    postings: int


class Manifest(BaseModel):
    format: str = "newsbot-index"
    version: int = FORMAT_VERSION
    created_at: datetime
    analyzer: AnalyzerConfig
    bm25: BM25Params
    chunking: ChunkingConfig
    counts: Counts
    files: dict[str, int] = {}


@dataclass
class Snapshot:
    """A complete, read-only index held in memory."""

    manifest: Manifest
    analyzer: Analyzer
    vocab: dict[str, int]
    postings: Postings
    doc_len: np.ndarray
    articles: list[ArticleMeta]
    passages: list[Passage]


def save(snapshot: Snapshot, path: Path) -> Path:
    """Write the snapshot under ``path`` and make it the live one; returns its folder."""
    snapshots = path / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    tmp = snapshots / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        _write_files(snapshot, tmp)
        stamp = snapshot.manifest.created_at.strftime("%Y%m%dT%H%M%S")
        final = snapshots / f"{stamp}-{uuid.uuid4().hex[:8]}"
        os.rename(tmp, final)
        _fsync_dir(snapshots)
        _write_atomically(path / "CURRENT", final.name + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_stale(snapshots, keep=final.name)
    return final


def load(path: Path) -> Snapshot:
    """Load the live snapshot, or raise an error that says what is wrong and what to run."""
    folder = live_folder(path)
    manifest = _read_manifest(folder)
    try:
        _check_sizes(folder, manifest)
        arrays = {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in _ARRAYS}
        vocab_list = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        articles = [
            ArticleMeta.model_validate_json(line) for line in _lines(folder / "articles.jsonl")
        ]
        passages = [Passage.model_validate_json(line) for line in _lines(folder / "passages.jsonl")]
    except (OSError, ValueError, ValidationError) as exc:
        raise IndexCorruptError(
            f"The index at {path} is damaged ({_brief(exc)}); {_REBUILD}."
        ) from exc
    counts = manifest.counts
    postings = Postings(
        offsets=arrays["offsets"],
        docs=arrays["docs"],
        tfs=arrays["tfs"],
        weights=arrays["weights"],
        base=arrays["base"],
        n_docs=counts.passages,
    )
    _check_consistent(path, manifest, postings, arrays["doc_len"], vocab_list, articles, passages)
    return Snapshot(
        manifest=manifest,
        analyzer=Analyzer(manifest.analyzer),
        vocab={term: i for i, term in enumerate(vocab_list)},
        postings=postings,
        doc_len=arrays["doc_len"],
        articles=articles,
        passages=passages,
    )


def read_articles(path: Path) -> list[ArticleMeta]:
    """Only the article metadata of the live snapshot: cheap, for reports and diffs."""
    folder = live_folder(path)
    _read_manifest(folder)
    try:
        return [ArticleMeta.model_validate_json(line) for line in _lines(folder / "articles.jsonl")]
    except (OSError, ValueError, ValidationError) as exc:
        raise IndexCorruptError(
            f"The index at {path} is damaged ({_brief(exc)}); {_REBUILD}."
        ) from exc


def exists(path: Path) -> bool:
    return (path / "CURRENT").is_file()


def live_folder(path: Path) -> Path:
    if not path.exists():
        raise IndexMissingError(
            f"There is no index at {path} yet; run `newsbot reindex` to build it."
        )
    try:
        name = (path / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexMissingError(
            f"{path} holds no newsbot index (no CURRENT file); run `newsbot reindex` to build one."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(
            f"The index at {path} is damaged ({_brief(exc)}); {_REBUILD}."
        ) from exc
    folder = path / "snapshots" / name
    if not name or "/" in name or not folder.is_dir():
        raise IndexCorruptError(
            f"The index at {path} names a missing snapshot '{name}'; {_REBUILD}."
        )
    return folder


def _read_manifest(folder: Path) -> Manifest:
    index_path = folder.parent.parent
    try:
        raw = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(
            f"The index at {index_path} has an unreadable manifest ({_brief(exc)}); {_REBUILD}."
        ) from exc
    version = raw.get("version") if isinstance(raw, dict) else None
    if version != FORMAT_VERSION:
        raise IndexVersionError(
            f"The index at {index_path} is in format version {version}, but this newsbot reads "
            f"version {FORMAT_VERSION}; {_REBUILD}."
        )
    analyzer_version = (raw.get("analyzer") or {}).get("version")
    if analyzer_version != AnalyzerConfig().version:
        raise IndexVersionError(
            f"The index at {index_path} was analyzed with analyzer version {analyzer_version}, "
            f"but this newsbot uses version {AnalyzerConfig().version}; {_REBUILD}."
        )
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        raise IndexCorruptError(
            f"The index at {index_path} has an invalid manifest ({_brief(exc)}); {_REBUILD}."
        ) from exc


def _check_sizes(folder: Path, manifest: Manifest) -> None:
    for name, size in manifest.files.items():
        actual = (folder / name).stat().st_size
        if actual != size:
            raise ValueError(f"{name} is {actual} bytes, expected {size}")


def _check_consistent(
    path: Path,
    manifest: Manifest,
    postings: Postings,
    doc_len: np.ndarray,
    vocab: list[str],
    articles: list[ArticleMeta],
    passages: list[Passage],
) -> None:
    c = manifest.counts
    problems = [
        (len(vocab) == c.terms, "vocab.json"),
        (len(postings.offsets) == c.terms + 1, "offsets.npy"),
        (len(postings.base) == c.terms, "base.npy"),
        (
            len(postings.docs) == len(postings.weights) == len(postings.tfs) == c.postings,
            "postings",
        ),
        (len(doc_len) == c.passages == len(passages), "passages"),
        (len(articles) == c.articles, "articles.jsonl"),
        (c.terms == 0 or int(postings.offsets[-1]) == c.postings, "offsets.npy"),
        (all(0 <= p.article < c.articles for p in passages), "passages.jsonl"),
    ]
    for ok, name in problems:
        if not ok:
            raise IndexCorruptError(
                f"The index at {path} is damaged ({name} does not match the manifest); {_REBUILD}."
            )


def _write_files(snapshot: Snapshot, folder: Path) -> None:
    vocab = sorted(snapshot.vocab, key=snapshot.vocab.__getitem__)
    arrays = {
        "offsets": snapshot.postings.offsets,
        "docs": snapshot.postings.docs,
        "tfs": snapshot.postings.tfs,
        "weights": snapshot.postings.weights,
        "base": snapshot.postings.base,
        "doc_len": snapshot.doc_len,
    }
    for name, array in arrays.items():
        with open(folder / f"{name}.npy", "wb") as fh:
            np.save(fh, np.ascontiguousarray(array), allow_pickle=False)
            _flush(fh)
    _write_text(folder / "vocab.json", json.dumps(vocab, ensure_ascii=False))
    _write_text(
        folder / "articles.jsonl", "".join(a.model_dump_json() + "\n" for a in snapshot.articles)
    )
    _write_text(
        folder / "passages.jsonl", "".join(p.model_dump_json() + "\n" for p in snapshot.passages)
    )
    files = {f.name: f.stat().st_size for f in sorted(folder.iterdir())}
    manifest = snapshot.manifest.model_copy(update={"files": files})
    _write_text(folder / "manifest.json", manifest.model_dump_json(indent=2))
    _fsync_dir(folder)


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
        _flush(fh)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    _write_text(tmp, text)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _flush(fh) -> None:  # type: ignore[no-untyped-def]
    fh.flush()
    os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_ABANDONED_AFTER_SECONDS = 3600


def _remove_stale(snapshots: Path, keep: str) -> None:
    # Readers hold what they loaded in memory, so older snapshots can go at once. A temporary
    # folder may be another writer's work in progress, unless it is old enough to be a crash's.
    cutoff = now().timestamp() - _ABANDONED_AFTER_SECONDS
    for child in snapshots.iterdir():
        if child.name == keep:
            continue
        if child.name.startswith(".tmp-") and child.stat().st_mtime > cutoff:
            continue
        shutil.rmtree(child, ignore_errors=True)


def _lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [line for line in fh if line.strip()]


def _brief(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
    if isinstance(exc, OSError) and exc.filename:
        return f"{Path(exc.filename).name}: {exc.strerror}"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


def now() -> datetime:
    return datetime.now(UTC)
