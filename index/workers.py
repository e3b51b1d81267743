"""Work spread over every core, a batch at a time, for callers that store each batch before the
next (the reindex path): memory holds one batch, not the whole archive."""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Items; below this, forking workers costs more than it saves. An article takes 5 to 10 ms to
# read and analyze (more in a fresh process, whose word cache is cold), a fork about 50 ms.
PARALLEL_FROM = 256


def map_in_batches(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    batch: int = 2000,
    workers: int | None = None,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    chunksize: int = 64,
) -> Iterator[list[tuple[T, R]]]:
    """``(item, fn(item))`` pairs, ``batch`` at a time, in order. Worker processes start only
    when the first batch is full and there is more than one core; ``fn`` and ``initializer``
    must be module-level functions."""
    workers = workers or os.cpu_count() or 1
    iterator = iter(items)
    first = list(itertools.islice(iterator, batch))
    if workers <= 1 or len(first) < min(batch, PARALLEL_FROM):
        if initializer is not None:
            initializer(*initargs)
        part = first
        while part:
            yield [(item, fn(item)) for item in part]
            part = list(itertools.islice(iterator, batch))
        return
    forking = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forking else "spawn")
    with context.Pool(workers, initializer=initializer, initargs=initargs) as pool:
        # The next batch is computed while the caller stores this one: workers never wait.
        part, running = first, pool.map_async(fn, first, chunksize=chunksize)
        while part:
            following = list(itertools.islice(iterator, batch))
            ahead = pool.map_async(fn, following, chunksize=chunksize) if following else None
            yield list(zip(part, running.get(), strict=True))
            if ahead is None:
                return
            part, running = following, ahead


def release_free_memory() -> None:
    """Hand the heap's free blocks back to the system, where the C library allows it (glibc).
    Reading an archive allocates and frees hundreds of thousands of article texts, and glibc
    keeps the freed blocks: at 100k passages, 210 MB that would otherwise sit under the peak
    of the build that follows."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to hand back this way
        return
    if trim is not None:
        trim(0)
