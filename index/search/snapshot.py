"""The index on disk: a versioned folder of plain files, memory-mapped, swapped in atomically.

Layout of the index folder::

    CURRENT                     name of the live snapshot (replaced atomically)
    snapshots/<name>/           one complete snapshot:
        manifest.json           format version, analyzer, BM25 and chunking settings, counts, sizes
        vocab.json              the terms; a term's id is its position
        offsets docs tfs weights base term_max doc_len .npy         the BM25 matrix
        passage_article passage_position text_spans .npy             passages, by id
        passages.txt passages.N.txt  passage texts, UTF-8, in parts (see blob.py)
        articles.jsonl articles.N.jsonl  article metadata, one per line, found by article_spans.npy
        article_published article_source article_host article_origin .npy  what ranking and filters use
        sources.json hosts.json origins.json  the outlet names, hosts and configured sources
                                those arrays point into
        tail_*.npy              passages added since the base was weighed (bm25.Tail), if any
        article_gone.npy        articles removed or replaced since, if any (see ``article_gone``)

Arrays are read with ``allow_pickle=False`` and memory-mapped, so several bot processes share one
copy and a load touches only what a search reads; JSON is read with the json module. Nothing
loaded can run code. A new snapshot is written beside the live one and only then named in
CURRENT, so a crash mid-write leaves the previous index untouched. The text parts a snapshot shares
with the one before it are hard links to the same immutable files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ValidationError

from index.errors import IndexCorruptError, IndexMissingError, IndexVersionError, NewsbotError
from index.ingest.chunking import ChunkingConfig
from index.models import ArticleMeta, Passage
from index.search.analyzer import Analyzer, AnalyzerConfig
from index.search.blob import Blob, link_file, load_parts, save_parts
from index.search.bm25 import BM25Params, Postings, Tail

# 5: articles marked gone (article_gone.npy), which an older newsbot would still serve.
FORMAT_VERSION = 5
_POSTINGS = ("offsets", "docs", "tfs", "weights", "base", "term_max")
# The tail of passages added since the base was weighed (bm25.Tail), when there is one.
_TAIL = ("offsets", "docs", "tfs", "weights", "scale", "base_max")
_TABLES = (
    "doc_len", "passage_article", "passage_position", "text_spans",
    "article_spans", "article_published", "article_source", "article_host", "article_origin",
)  # fmt: skip
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
    # SHA-256 of every file: same-size damage (bit rot, a bad copy) is found by verify().
    checksums: dict[str, str] = {}
    # The article store's generation it was built from (see ArticleStore.generation); None for
    # snapshots built without a store (eval, tests) or by older newsbots.
    store_generation: int | None = None
    # Passages in the base of the postings when a tail follows it (see bm25.Tail), else None.
    base_passages: int | None = None
    # The files of each byte store, in order (see blob.py).
    parts: dict[str, list[str]] = {"passages": ["passages.txt"], "articles": ["articles.jsonl"]}
    # Articles still in the arrays but removed (see Snapshot.article_gone); counts include them.
    gone: int = 0


@dataclass
class Snapshot:
    """A complete, read-only index. Passage texts and article metadata are read on demand."""

    manifest: Manifest
    analyzer: Analyzer
    vocab: dict[str, int]
    postings: Postings
    doc_len: np.ndarray
    passage_article: np.ndarray
    passage_position: np.ndarray
    text_spans: np.ndarray  # (start, end) of each passage's text in ``texts``
    texts: Blob
    article_lines: Blob
    article_spans: np.ndarray  # (start, end) of each article's line in ``article_lines``
    article_published: np.ndarray  # POSIX seconds, NaN when undated
    article_source: np.ndarray
    article_host: np.ndarray
    article_origin: np.ndarray  # which configured source brought each article: per-server views
    sources: list[str]
    hosts: list[str]
    origins: list[str]
    # Acronyms the articles define ("faa" -> "Federal Aviation Administration"); see acronyms.py.
    aliases: dict[str, str] = field(default_factory=dict)
    # Per article, whether a refresh removed it (or replaced it with a newer version, added
    # after it) without rewriting the postings: its passages stay, unseen by any search, until
    # they are taken out (see build.replace_articles). None when there is none.
    article_gone: np.ndarray | None = None
    # The arrays as loaded, by file name, with the file and its checksum: a snapshot derived
    # from this one links the files of the arrays it keeps instead of writing them again.
    loaded: dict[str, tuple[np.ndarray, Path, str]] = field(default_factory=dict, repr=False)
    _article_cache: dict[int, ArticleMeta] = field(default_factory=dict, repr=False)

    def passage_text(self, passage: int) -> str:
        lo, hi = self.text_spans[passage].tolist()
        return self.texts[lo:hi].decode("utf-8")

    def article(self, index: int) -> ArticleMeta:
        cached = self._article_cache.get(index)
        if cached is None:
            lo, hi = self.article_spans[index].tolist()
            cached = ArticleMeta.model_validate_json(self.article_lines[lo:hi])
            if len(self._article_cache) < 100_000:
                self._article_cache[index] = cached
        return cached

    @property
    def live_articles(self) -> int:
        """How many articles the index holds, less those removed since (``article_gone``)."""
        return self.manifest.counts.articles - self.manifest.gone

    @cached_property
    def passage_gone(self) -> np.ndarray | None:
        """Per passage, whether its article is gone; None when none is."""
        return None if self.article_gone is None else self.article_gone[self.passage_article]

    @property
    def live_passages(self) -> int:
        gone = self.passage_gone
        return self.manifest.counts.passages - (int(gone.sum()) if gone is not None else 0)

    @cached_property
    def articles(self) -> list[ArticleMeta]:
        """Every article not gone; reads them all, so meant for small indexes, reports and tests."""
        gone = self.article_gone
        return [
            self.article(i)
            for i in range(self.manifest.counts.articles)
            if gone is None or not gone[i]
        ]

    @cached_property
    def passages(self) -> list[Passage]:
        """Every passage; reads them all, so meant for small indexes and tests."""
        return [
            Passage(
                article=int(self.passage_article[i]),
                position=int(self.passage_position[i]),
                text=self.passage_text(i),
            )
            for i in range(self.manifest.counts.passages)
            if self.passage_gone is None or not self.passage_gone[i]
        ]


def save(snapshot: Snapshot, path: Path) -> Path:
    """Write the snapshot under ``path`` and make it the live one; returns its folder."""
    snapshots = path / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    tmp = snapshots / f".tmp-{os.getpid()}-{uuid.uuid4().hex}"
    tmp.mkdir()
    previous = _current_name(path)
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
    if previous and (snapshots / previous).is_dir():
        # Its grace period starts now: a reader that read CURRENT a moment ago may still be
        # opening its files.
        os.utime(snapshots / previous)
    tidy(path)
    return final


@contextlib.contextmanager
def scratch(path: Path) -> Iterator[Path]:
    """A folder beside the snapshots, on the same file system, for files a build writes as it
    goes (then linked into its snapshot); removed afterwards, or by ``tidy`` if the writer died."""
    folder = path / "snapshots" / f".tmp-{os.getpid()}-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def load(path: Path) -> Snapshot:
    """Load the live snapshot, or raise an error that says what is wrong and what to run. A
    snapshot swapped out by another process while this one was opening it is retried once."""
    name = _current_name(path)
    try:
        return _load(path)
    except IndexCorruptError:
        if name is None or _current_name(path) == name:
            raise
        return _load(path)


def tidy(path: Path) -> None:
    """Remove what no reader can need: snapshots superseded more than a grace period ago, and
    temporary folders of writers that died (or of any writer, after an hour)."""
    folder = path / "snapshots"
    if not folder.is_dir():
        return
    keep = _current_name(path)
    moment = now().timestamp()
    for child in folder.iterdir():
        try:
            age = moment - child.stat().st_mtime
        except OSError:
            continue
        if child.name == keep:
            continue
        if child.name.startswith(".tmp-"):
            if _writer_alive(child.name) and age < _ABANDONED_AFTER_SECONDS:
                continue
        elif age < GRACE_SECONDS:
            continue
        shutil.rmtree(child, ignore_errors=True)


def _current_name(path: Path) -> str | None:
    try:
        return (path / "CURRENT").read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def _writer_alive(tmp_name: str) -> bool:
    parts = tmp_name.split("-")
    if len(parts) < 3 or not parts[1].isdigit():
        return True  # an older newsbot's name: only its age tells
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _load(path: Path) -> Snapshot:
    folder = live_folder(path)
    manifest = _read_manifest(folder)
    try:
        _check_sizes(folder, manifest)
        for names in manifest.parts.values():
            if any(name not in manifest.files or "/" in name for name in names):
                raise ValueError("manifest.json names a part it does not list")
        names = list(_POSTINGS + _TABLES)
        if manifest.base_passages is not None:
            names += [f"tail_{name}" for name in _TAIL]
        if manifest.gone:
            names.append("article_gone")
        arrays = {
            # Plain ndarray views of the maps: np.memmap's Python-level slicing costs more than a search.
            name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False).view(
                np.ndarray
            )
            for name in names
        }
        vocab_list = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        sources = json.loads((folder / "sources.json").read_text(encoding="utf-8"))
        hosts = json.loads((folder / "hosts.json").read_text(encoding="utf-8"))
        origins = json.loads((folder / "origins.json").read_text(encoding="utf-8"))
        texts = load_parts(folder, manifest.parts["passages"], manifest.checksums)
        article_lines = load_parts(folder, manifest.parts["articles"], manifest.checksums)
        aliases_file = folder / "aliases.json"  # absent from snapshots of older newsbots
        aliases = (
            json.loads(aliases_file.read_text(encoding="utf-8")) if aliases_file.exists() else {}
        )
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(
            f"The index at {path} is damaged ({_brief(exc)}); {_REBUILD}."
        ) from exc
    tail = (
        Tail(**{name: arrays[f"tail_{name}"] for name in _TAIL}, n_base=manifest.base_passages)
        if manifest.base_passages is not None
        else None
    )
    postings = Postings(
        **{name: arrays[name] for name in _POSTINGS}, n_docs=manifest.counts.passages, tail=tail
    )
    snap = Snapshot(
        manifest=manifest,
        analyzer=Analyzer(manifest.analyzer),
        vocab={term: i for i, term in enumerate(vocab_list)},
        postings=postings,
        **{name: arrays[name] for name in _TABLES},
        article_gone=arrays.get("article_gone"),
        texts=texts,
        article_lines=article_lines,
        sources=sources,
        hosts=hosts,
        origins=origins,
        aliases=aliases,
        loaded={
            f"{name}.npy": (
                array,
                folder / f"{name}.npy",
                manifest.checksums.get(f"{name}.npy", ""),
            )
            for name, array in arrays.items()
        },
    )
    _check_consistent(path, snap, len(vocab_list))
    return snap


def exists(path: Path) -> bool:
    return (path / "CURRENT").is_file()


def build_needed(path: Path) -> str | None:
    """Why the index at ``path`` must be built from its sources before it can answer (none yet,
    or written by another newsbot version), or None when it can be loaded. Only the manifest is
    read; a damaged index is left for :func:`load` to report."""
    if not exists(path):
        return "No index yet: building one from the configured sources first."
    try:
        _read_manifest(live_folder(path))
    except IndexVersionError:
        return "The index is in another format: rebuilding it from the configured sources first."
    except NewsbotError:
        return None
    return None


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
    # The small files are read whole at load anyway; their checksums cost nothing.
    for name, digest in manifest.checksums.items():
        if manifest.files.get(name, 0) <= SMALL_FILE_BYTES and _sha256(folder / name) != digest:
            raise ValueError(f"{name} does not match its checksum")


SMALL_FILE_BYTES = 1 << 20


def verify(path: Path, *, text_parts: bool = True, base_postings: bool = True) -> list[str]:
    """The files of the live snapshot that do not match their checksums (all of them read
    through; seconds at a million passages). Empty when it is whole. Without ``text_parts``,
    the passage and article parts are checked by size only, and without ``base_postings`` the
    postings' base: a refresh that links them into its new snapshot neither reads nor copies
    them."""
    folder = live_folder(path)
    manifest = _read_manifest(folder)
    linked = (
        {name for names in manifest.parts.values() for name in names} if not text_parts else set()
    )
    if not base_postings:
        linked |= {f"{name}.npy" for name in ("offsets", "docs", "tfs", "weights")}
    damaged = []
    for name, size in manifest.files.items():
        file = folder / name
        if name in linked:
            if not file.is_file() or file.stat().st_size != size:
                damaged.append(name)
            continue
        try:
            if file.stat().st_size != size or (
                name in manifest.checksums and _sha256(file) != manifest.checksums[name]
            ):
                damaged.append(name)
        except OSError:
            damaged.append(name)
    return damaged


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _check_consistent(path: Path, snap: Snapshot, n_vocab: int) -> None:
    c = snap.manifest.counts
    p = snap.postings
    t = p.tail
    tail_postings = len(t.docs) if t is not None else 0
    checks = [
        (n_vocab == c.terms, "vocab.json"),
        (
            (len(p.offsets) == c.terms + 1 or (t is not None and len(p.offsets) <= c.terms + 1))
            and len(p.base) == len(p.term_max) == c.terms,
            "offsets.npy",
        ),
        (len(p.docs) == len(p.weights) == len(p.tfs) == c.postings - tail_postings, "postings"),
        (len(p.offsets) <= 1 or int(p.offsets[-1]) == len(p.docs), "offsets.npy"),
        (
            t is None
            or (
                len(t.offsets) == c.terms + 1
                and len(t.scale) == len(t.base_max) == c.terms
                and len(t.docs) == len(t.tfs) == len(t.weights) == int(t.offsets[-1])
                and 0 < t.n_base <= c.passages
                and (not len(t.docs) or int(t.docs.min()) >= t.n_base)
            ),
            "tail_offsets.npy",
        ),
        (
            len(snap.doc_len)
            == len(snap.passage_article)
            == len(snap.passage_position)
            == c.passages,
            "passages",
        ),
        (
            snap.text_spans.shape == (c.passages, 2)
            and (not c.passages or int(snap.text_spans.max()) <= len(snap.texts)),
            "passages.txt",
        ),
        (
            snap.article_spans.shape == (c.articles, 2)
            and (not c.articles or int(snap.article_spans.max()) <= len(snap.article_lines)),
            "articles.jsonl",
        ),
        (
            len(snap.article_published)
            == len(snap.article_source)
            == len(snap.article_host)
            == len(snap.article_origin)
            == c.articles,
            "articles",
        ),
    ]
    gone = snap.article_gone
    checks.append(
        (
            (gone is None and not snap.manifest.gone)
            or (
                gone is not None
                and gone.dtype == np.bool_
                and len(gone) == c.articles
                and int(gone.sum()) == snap.manifest.gone
            ),
            "article_gone.npy",
        )
    )
    for ok, name in checks:
        if not ok:
            raise IndexCorruptError(
                f"The index at {path} is damaged ({name} does not match the manifest); {_REBUILD}."
            )


def _write_files(snapshot: Snapshot, folder: Path) -> None:
    vocab = sorted(snapshot.vocab, key=snapshot.vocab.__getitem__)
    p = snapshot.postings
    arrays = {
        **{name: getattr(p, name) for name in _POSTINGS},
        **{name: getattr(snapshot, name) for name in _TABLES},
    }
    if p.tail is not None:
        arrays.update({f"tail_{name}": getattr(p.tail, name) for name in _TAIL})
    if snapshot.article_gone is not None:
        arrays["article_gone"] = snapshot.article_gone
    # Each file is hashed by a second thread while the next one is written (hashing and file
    # writes release the GIL): the checksums cost no extra time on two cores.
    with ThreadPoolExecutor(1) as hasher:
        hashed: dict[str, Future[str] | str] = {}
        for name, array in arrays.items():
            kept = snapshot.loaded.get(f"{name}.npy")
            if kept is not None and kept[0] is array and kept[2]:
                # The very array the live snapshot holds (a tail's base, say): its file is
                # linked, as the text parts are, not written again.
                link_file(kept[1], folder / f"{name}.npy")
                hashed[f"{name}.npy"] = kept[2]
                continue
            with open(folder / f"{name}.npy", "wb") as fh:
                np.save(fh, np.ascontiguousarray(array), allow_pickle=False)
                _flush(fh)
            hashed[f"{name}.npy"] = hasher.submit(_sha256, folder / f"{name}.npy")
        for name, value in (
            ("vocab", vocab), ("sources", snapshot.sources), ("hosts", snapshot.hosts),
            ("origins", snapshot.origins), ("aliases", snapshot.aliases),
        ):  # fmt: skip
            _write_text(folder / f"{name}.json", json.dumps(value, ensure_ascii=False))
            hashed[f"{name}.json"] = hasher.submit(_sha256, folder / f"{name}.json")
        files = {name: (folder / name).stat().st_size for name in hashed}
        parts: dict[str, list[str]] = {}
        checksums: dict[str, str] = {}
        for store, blob, stem, suffix in (
            ("passages", snapshot.texts, "passages", ".txt"),
            ("articles", snapshot.article_lines, "articles", ".jsonl"),
        ):
            saved = save_parts(blob, folder, stem, suffix)
            parts[store] = [name for name, _, _ in saved]
            for name, size, digest in saved:
                files[name], checksums[name] = size, digest
        checksums.update(
            {name: h if isinstance(h, str) else h.result() for name, h in hashed.items()}
        )
    manifest = snapshot.manifest.model_copy(
        update={
            "files": dict(sorted(files.items())),
            "checksums": checksums,
            "parts": parts,
            "base_passages": p.tail.n_base if p.tail is not None else None,
            "gone": int(snapshot.article_gone.sum()) if snapshot.article_gone is not None else 0,
        }
    )
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
# A superseded snapshot stays this long, for readers (other processes) that read CURRENT just
# before the swap and are still opening its files.
GRACE_SECONDS = 300


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
