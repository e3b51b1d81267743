"""A dependency-free progress bar for the terminal; silent when output is not a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from index.ingest.reindex import ProgressEvent

_LABELS = {"collecting": "Fetching ", "analyzing": "Analyzing", "indexing": "Indexing "}


class ProgressBar:
    """Called with (done, total); redraws at most ten times a second on a TTY, never elsewhere."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.enabled = self.stream.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int, detail: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        filled = self.width * done // max(total, 1)
        bar = "█" * filled + "░" * (self.width - filled)
        self.stream.write(f"\r\033[K{self.label} {bar} {done:,}/{total:,}{detail}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


class RefreshBar:
    """One bar per reindex stage, with the fetch counts while collecting."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._bars: dict[str, ProgressBar] = {}

    def __call__(self, event: ProgressEvent) -> None:
        bar = self._bars.setdefault(
            event.stage, ProgressBar(_LABELS.get(event.stage, event.stage), self.stream)
        )
        c = event.counts
        detail = (
            f"  fetched {c.fetched} · new {c.new} · updated {c.updated} · unchanged {c.unchanged} · failed {c.failed}"
            if event.stage == "collecting"
            else ""
        )
        bar(event.done, event.total, detail)
