"""Rendering answers and reports for the terminal."""

from __future__ import annotations

from index.dates import format_date
from index.ingest.health import SourceHealth
from index.ingest.reindex import ReindexReport
from index.models import Answer, Hit

BOLD, RESET = "\033[1m", "\033[0m"


def render_answer(answer: Answer, *, color: bool, sources: int = 3) -> str:
    if answer.sentence is None:
        return not_found_text(answer)
    s = answer.sentence
    if color:
        marked = f"{s.text[: s.start]}{BOLD}{s.highlight}{RESET}{s.text[s.end :]}"
    else:
        marked = f"{s.text[: s.start]}**{s.highlight}**{s.text[s.end :]}"
    lines = [marked, answer.as_of(), "", "Sources:"]
    for number, hit in enumerate(answer.sources(sources), start=1):
        lines.append(f"  {number}. {citation(hit)}")
        if hit.article.url:
            lines.append(f"     {hit.article.url}")
    return "\n".join(lines)


def not_found_text(answer: Answer) -> str:
    when = answer.indexed_at.strftime("%Y-%m-%d %H:%M UTC") if answer.indexed_at else "never"
    return (
        f"The indexed news does not cover this question ({answer.articles:,} articles, "
        f"last reindexed {when})."
    )


def citation(hit: Hit) -> str:
    article = hit.article
    parts = [article.title or "(untitled)"]
    if article.source:
        parts.append(article.source)
    parts.append(format_date(article.published))
    return " — ".join(parts)


def render_report(report: ReindexReport) -> str:
    c = report.counts
    lines = [
        f"Indexed {report.articles:,} articles as {report.passages:,} passages in {report.seconds:.2f} s.",
        f"Fetched {c.fetched:,}; {c.new:,} new, {c.updated:,} updated, {c.unchanged:,} unchanged, "
        f"{c.duplicates:,} duplicates, {c.failed:,} failed; {report.removed:,} removed, {report.pruned:,} pruned; "
        f"{report.analyzed:,} analyzed.",
        f"Index: {report.index_path}",
    ]
    if report.problems:
        lines.append(f"Problems ({len(report.problems)}):")
        lines.extend(f"  {p.origin}: {p.reason}" for p in report.problems)
    return "\n".join(lines)


def render_health(health: list[SourceHealth]) -> str:
    lines = []
    for h in health:
        when = h.last_success.strftime("%Y-%m-%d %H:%M UTC") if h.last_success else "never"
        line = f"{h.kind:<4}  {h.label}\n      {h.articles:,} articles"
        if h.kind != "path":
            line += f", last success {when}, {h.consecutive_failures} consecutive failures"
            if h.last_error:
                line += f"\n      last error: {h.last_error}"
        lines.append(line)
    return "\n".join(lines)
