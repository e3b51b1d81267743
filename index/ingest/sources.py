"""Loaders: every kind of source becomes the same ``Article`` model, cleaned and deduplicated.

A source that cannot be read is reported as a ``Problem`` and skipped; the others are still loaded.
"""

from __future__ import annotations

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
        for item in _load_path(Path(path)):
            if isinstance(item, Problem):
                result.problems.append(item)
            elif not seen.add(item):
                result.duplicates += 1
    result.articles = seen.articles()
    return result


def _load_path(path: Path) -> Iterator[Article | Problem]:
    if not path.exists():
        yield Problem(origin=str(path), reason="no such file or folder")
        return
    if path.is_dir():
        unreadable: list[OSError] = []
        files: list[Path] = []
        for root, dirs, names in os.walk(path, onerror=unreadable.append):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            files += [Path(root) / n for n in names if not n.startswith(".")]
        for error in unreadable:
            # A folder newsbot may not read is a failure, not an empty folder.
            yield Problem(
                origin=str(error.filename or path),
                reason=f"the folder cannot be read ({error.strerror or error}); check its permissions",
            )
        for file in sorted(f for f in files if f.is_file()):
            if file.suffix.lower() in SUPPORTED_SUFFIXES:
                yield from _load_file(file)
        return
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        yield Problem(
            origin=str(path),
            reason=f"unsupported file type {path.suffix or '(none)'}; use .txt, .md, .html or .jsonl",
        )
        return
    yield from _load_file(path)


def _load_file(path: Path) -> Iterator[Article | Problem]:
    origin = str(path)
    try:
        size = path.stat().st_size
        if size == 0:
            yield Problem(origin=origin, reason="the file is empty")
            return
        suffix = path.suffix.lower()
        if suffix not in JSONL_SUFFIXES and size > MAX_ARTICLE_BYTES:
            yield Problem(
                origin=origin, reason=f"the file is {size:,} bytes, too large for one article"
            )
            return
        data = path.read_bytes()
        text = data.decode("utf-8-sig")
    except OSError as exc:
        yield Problem(origin=origin, reason=f"cannot be read ({exc.strerror or exc})")
        return
    except UnicodeDecodeError:
        yield Problem(origin=origin, reason="is not UTF-8 text")
        return
    if suffix in JSONL_SUFFIXES:
        yield from _parse_jsonl(text, origin)
    elif suffix in HTML_SUFFIXES:
        yield _parse_html(text, origin)
    else:
        yield _parse_text(text, origin)


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


def _parse_jsonl(text: str, origin: str) -> Iterator[Article | Problem]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{origin} line {number}"
        try:
            raw = RawArticle.model_validate(json.loads(line))
        except json.JSONDecodeError:
            yield Problem(origin=where, reason="is not valid JSON")
            continue
        except ValidationError as exc:
            first = exc.errors()[0]
            field_name = ".".join(str(p) for p in first["loc"]) or "the line"
            yield Problem(origin=where, reason=f"field '{field_name}': {first['msg'].lower()}")
            continue
        yield to_article(raw, where)
