"""The append-only byte stores of a snapshot (passage texts, article lines), kept as parts.

Passage texts are the largest part of an index (1.7 GB at a million passages) and change least:
a refresh adds a few thousand passages and drops a few. So a store is a list of immutable part
files. A new snapshot links the parts of the one before it into its folder (a hard link: no
byte is copied or read) and writes only a new part for what it adds. Removed passages stay as
unreferenced bytes until they are more than half of the store (then it is rewritten whole), and
when the parts are too many the ones after the first are merged (``tidied``).

Records are found by spans (start, end) into the concatenation of the parts, never across a
part boundary: each part is written whole by one build.
"""

from __future__ import annotations

import bisect
import hashlib
import mmap
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_PARTS = 8
# Below this share of referenced bytes, the store is rewritten without what no record uses.
MIN_LIVE_SHARE = 0.5


@dataclass(frozen=True)
class Part:
    """One part: pieces in memory not yet saved, or a file of a saved snapshot."""

    pieces: Sequence[bytes | mmap.mmap]
    size: int
    name: str | None = None  # its file name once saved
    file: Path | None = None  # where it was read from: linked, not copied, by the next save
    checksum: str | None = None


class Blob:
    """Bytes addressed by (start, end) spans across the parts, read without joining them."""

    def __init__(self, parts: Sequence[Part] = ()) -> None:
        self.parts = [p for p in parts if p.size]
        self._ends = np.cumsum([p.size for p in self.parts]).tolist()
        # Per part, where each piece ends: a passage of a store built in memory is found by a
        # binary search, not by walking a million pieces.
        self._piece_ends: list[np.ndarray | None] = [None] * len(self.parts)

    @classmethod
    def of(cls, pieces: Sequence[bytes]) -> Blob:
        """A store of pieces in memory, as one part."""
        return cls([Part(pieces=list(pieces), size=sum(map(len, pieces)))])

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __getitem__(self, where: slice) -> bytes:
        lo, hi, _ = where.indices(len(self))
        if hi <= lo:
            return b""
        at = bisect.bisect_right(self._ends, lo)
        start = self._ends[at - 1] if at else 0
        if hi > self._ends[at]:  # across parts: only a caller's mistake or a whole read
            return b"".join(
                self._read(i, 0, self.parts[i].size) for i in range(at, len(self.parts))
            )[lo - start : hi - start]
        return self._read(at, lo - start, hi - start)

    def _read(self, at: int, lo: int, hi: int) -> bytes:
        pieces, ends = self.parts[at].pieces, self._piece_ends[at]
        if ends is None:
            ends = self._piece_ends[at] = np.cumsum([len(p) for p in pieces], dtype=np.int64)
        first = int(np.searchsorted(ends, lo, side="right"))
        begin = int(ends[first - 1]) if first else 0
        if hi <= int(ends[first]):
            return bytes(pieces[first][lo - begin : hi - begin])
        last = int(np.searchsorted(ends, hi, side="left"))
        joined = b"".join(bytes(pieces[i]) for i in range(first, last + 1))
        return joined[lo - begin : hi - begin]

    def __bytes__(self) -> bytes:
        return b"".join(bytes(piece) for part in self.parts for piece in part.pieces)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Blob):
            return bytes(self) == bytes(other)
        if isinstance(other, bytes | bytearray):
            return bytes(self) == other
        return NotImplemented

    def chunks(self) -> Iterable[bytes | mmap.mmap]:
        for part in self.parts:
            yield from part.pieces

    def plus(self, pieces: Sequence[bytes]) -> Blob:
        """This store with the pieces appended as a new part."""
        return Blob([*self.parts, *Blob.of(pieces).parts])


def spans_of(lengths: np.ndarray, start: int = 0) -> np.ndarray:
    """(start, end) of records of these lengths, back to back from ``start``."""
    ends = start + np.cumsum(lengths.astype(np.int64))
    return np.column_stack([ends - lengths, ends]).astype(np.int64).reshape(-1, 2)


def tidied(blob: Blob, spans: np.ndarray) -> tuple[Blob, np.ndarray]:
    """The store as it is, or rewritten where that pays. Unreferenced bytes past half of it:
    the whole store is rewritten. Too many parts: the parts after the first (the base, by far
    the largest) are merged into one, so a refresh copies what refreshes added, not the base."""
    live = int((spans[:, 1] - spans[:, 0]).sum()) if len(spans) else 0
    if live < MIN_LIVE_SHARE * len(blob):
        return compacted(blob, spans, 0)
    if len(blob.parts) > MAX_PARTS:
        return compacted(blob, spans, 1)
    return blob, spans


def compacted(blob: Blob, spans: np.ndarray, first_part: int) -> tuple[Blob, np.ndarray]:
    """The parts from ``first_part`` on rewritten as one part in memory, with only the records
    that point into them, in order; and every record's new span."""
    begin = blob._ends[first_part - 1] if first_part else 0
    moved = spans[:, 0] >= begin
    lengths = spans[moved, 1] - spans[moved, 0]
    pieces = [blob[int(lo) : int(hi)] for lo, hi in _runs(spans[moved])]
    new_spans = spans.copy()
    new_spans[moved] = spans_of(lengths, begin)
    return Blob([*blob.parts[:first_part], *Blob.of(pieces).parts]), new_spans


def _runs(spans: np.ndarray) -> list[tuple[int, int]]:
    """Spans that follow each other merged into runs: a few large copies, not a million."""
    if not len(spans):
        return []
    breaks = np.flatnonzero(spans[1:, 0] != spans[:-1, 1]) + 1
    starts = spans[np.concatenate(([0], breaks)), 0]
    ends = spans[np.concatenate((breaks - 1, [len(spans) - 1])), 1]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def save_parts(blob: Blob, folder: Path, stem: str, suffix: str) -> list[tuple[str, int, str]]:
    """Put the store's parts in ``folder``: parts already in files are linked, the others
    written (their checksum computed as they are written). Returns (file name, size, SHA-256)
    per part."""
    taken = {p.name for p in blob.parts if p.name}
    number = 0
    saved = []
    for part in blob.parts:
        name = part.name
        if name is None:
            name = f"{stem}{suffix}" if not number and f"{stem}{suffix}" not in taken else None
            while name is None or name in taken:
                number += 1
                name = f"{stem}.{number}{suffix}"
            taken.add(name)
        if part.file is not None and part.checksum is not None:
            # A part already on disk (the live snapshot's, or texts a build wrote as it went).
            link_file(part.file, folder / name)
            saved.append((name, part.size, part.checksum))
            continue
        digest = hashlib.sha256()
        with open(folder / name, "wb") as fh:
            for piece in part.pieces:
                fh.write(piece)
                digest.update(piece)
            fh.flush()
            os.fsync(fh.fileno())
        saved.append((name, part.size, digest.hexdigest()))
    return saved


def link_file(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links: copy it
        shutil.copyfile(source, target)


def load_parts(folder: Path, names: list[str], checksums: dict[str, str]) -> Blob:
    parts = []
    for name in names:
        data = map_file(folder / name)
        parts.append(
            Part(
                pieces=[data],
                size=len(data),
                name=name,
                file=folder / name,
                checksum=checksums.get(name),
            )
        )
    return Blob(parts)


def map_file(path: Path) -> bytes | mmap.mmap:
    """The file's bytes, memory-mapped read-only (an empty file cannot be mapped)."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return b""
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
