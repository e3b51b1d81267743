"""Loaders: every kind of source becomes the same ``Article`` model, cleaned and deduplicated.

A source that cannot be read is reported as a ``Problem`` and skipped; the others are still loaded.
"""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from index.ingest.articles import Deduplicator, RawArticle, to_article
from index.ingest.pages import extract_article
from index.models import Article, Problem

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
JSONL_SUFFIXES = frozenset({".jsonl"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
# A single article file larger than this is almost certainly not an article (a dump, a binary).
MAX_ARTICLE_BYTES = 5_000_000


@dataclass
class LoadResult:
    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    duplicates: int = 0


def load_sources(paths: Iterable[Path]) -> LoadResult:
    """Load every article under the given files and folders, deduplicated across all of them."""
    result = LoadResult()
    seen = Deduplicator()
    for path in paths:
        files, problems = source_files(Path(path))
        result.problems += problems
        for file in files:
            for item in read_records(file):
                article = item if isinstance(item, Problem) else parse_record(item)
                if isinstance(article, Problem):
                    result.problems.append(article)
                elif not seen.add(article):
                    result.duplicates += 1
    result.articles = seen.articles()
    return result


@dataclass(frozen=True)
class SourceFile:
    """One readable file of a source, with what tells a changed file from an unchanged one."""

    path: Path
    size: int
    mtime_ns: int

    @property
    def signature(self) -> tuple[int, int]:
        return self.size, self.mtime_ns


@dataclass(frozen=True)
class Record:
    """One article's raw bytes: a line of a JSONL file, or a whole text or HTML file."""

    where: str
    raw: bytes
    suffix: str


def source_files(path: Path) -> tuple[list[SourceFile], list[Problem]]:
    """The article files under a configured file or folder, and what could not be read."""
    if not path.exists():
        return [], [Problem(origin=str(path), reason="no such file or folder")]
    if not path.is_dir():
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            reason = (
                f"unsupported file type {path.suffix or '(none)'}; use .txt, .md, .html or .jsonl"
            )
            return [], [Problem(origin=str(path), reason=reason)]
        return _stat([path])
    unreadable: list[OSError] = []
    found: list[Path] = []
    for root, dirs, names in os.walk(path, onerror=unreadable.append):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(root) / n for n in names if not n.startswith(".")]
    # A folder newsbot may not read is a failure, not an empty folder.
    problems = [
        Problem(
            origin=str(error.filename or path),
            reason=f"the folder cannot be read ({error.strerror or error}); check its permissions",
        )
        for error in unreadable
    ]
    files, more = _stat(
        sorted(f for f in found if f.suffix.lower() in SUPPORTED_SUFFIXES and f.is_file())
    )
    return files, problems + more


def _stat(paths: list[Path]) -> tuple[list[SourceFile], list[Problem]]:
    files, problems = [], []
    for path in paths:
        try:
            stat = path.stat()
        except OSError as exc:
            problems.append(
                Problem(origin=str(path), reason=f"cannot be read ({exc.strerror or exc})")
            )
            continue
        files.append(SourceFile(path=path, size=stat.st_size, mtime_ns=stat.st_mtime_ns))
    return files, problems


READ_BUFFER = 1 << 20


def read_records(file: SourceFile) -> Iterator[Record | Problem]:
    """The file's articles as raw records, without parsing them: a caller that has seen a
    record's bytes before can skip it."""
    origin, suffix = str(file.path), file.path.suffix.lower()
    if file.size == 0:
        yield Problem(origin=origin, reason="the file is empty")
        return
    if suffix not in JSONL_SUFFIXES and file.size > MAX_ARTICLE_BYTES:
        yield Problem(
            origin=origin, reason=f"the file is {file.size:,} bytes, too large for one article"
        )
        return
    try:
        # A large buffer: an archive's lines are about 10 KB, and the default 8 KB buffer
        # refilled for each one doubled the time to read 1.5 GB of them.
        with file.path.open("rb", buffering=READ_BUFFER) as fh:
            if suffix not in JSONL_SUFFIXES:
                yield Record(where=origin, raw=fh.read(), suffix=suffix)
                return
            # Line by line: an archive's JSONL may be larger than memory.
            for number, line in enumerate(fh, start=1):
                if number == 1 and line.startswith(codecs.BOM_UTF8):
                    line = line[len(codecs.BOM_UTF8) :]
                if line and not line.isspace():  # (strip() would copy every line)
                    yield Record(where=f"{origin} line {number}", raw=line, suffix=suffix)
    except OSError as exc:
        yield Problem(origin=origin, reason=f"cannot be read ({exc.strerror or exc})")


def parse_record(record: Record) -> Article | Problem:
    """The cleaned article a record holds, or what is wrong with it."""
    try:
        text = record.raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Problem(origin=record.where, reason="is not UTF-8 text")
    if record.suffix in JSONL_SUFFIXES:
        return _parse_json_line(text, record.where)
    if record.suffix in HTML_SUFFIXES:
        return _parse_html(text, record.where)
    return _parse_text(text, record.where)


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(\*\*|__|(?<!\w)[*_](?=\w)|(?<=\w)[*_](?!\w))")


def _parse_text(text: str, origin: str) -> Article | Problem:
    meta: dict[str, str] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        for line in match.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip():
                meta[key.strip().lower()] = value.strip().strip("\"'")
        text = text[match.end() :]
    if origin.lower().endswith((".md", ".markdown")):
        text = _MD_MARKS.sub("", _MD_LINK.sub(r"\1", text))
    lines = text.strip().splitlines()
    title = meta.get("title", "")
    if not title and lines:
        title = lines[0].lstrip("#").strip()
        lines = lines[1:]
    elif lines and lines[0].lstrip("#").strip() == title:
        lines = lines[1:]
    body = "\n".join(line.lstrip("#").strip() if line.startswith("#") else line for line in lines)
    raw = RawArticle(
        url=meta.get("url"),
        title=title,
        text=body,
        published=meta.get("published") or meta.get("date"),
        source=meta.get("source", ""),
        authors=[a.strip() for a in meta.get("authors", meta.get("author", "")).split(",")],
    )
    return to_article(raw, origin)


def _parse_html(html: str, origin: str) -> Article | Problem:
    return extract_article(html, origin)


def _parse_json_line(line: str, where: str) -> Article | Problem:
    try:
        raw = RawArticle.model_validate(json.loads(line))
    except json.JSONDecodeError:
        return Problem(origin=where, reason="is not valid JSON")
    except ValidationError as exc:
        first = exc.errors()[0]
        field_name = ".".join(str(p) for p in first["loc"]) or "the line"
        return Problem(origin=where, reason=f"field '{field_name}': {first['msg'].lower()}")
    return to_article(raw, where)
