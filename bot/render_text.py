"""Rendering answers and reports for the terminal.

Everything that came from a source (article text, titles, feed errors) passes through
``strip_controls``: escape sequences in a page must not move the cursor or retitle the terminal.
"""

from __future__ import annotations

from datetime import datetime

from index.answer.journal import CoverageReport
from index.dates import format_date
from index.ingest.clean import strip_controls as _plain
from index.ingest.health import SourceHealth
from index.ingest.reindex import ReindexReport
from index.models import Answer, Hit, Refusal
from index.servers import ServerInfo

BOLD, RESET = "\033[1m", "\033[0m"


def render_answer(answer: Answer, *, color: bool, sources: int = 3) -> str:
    """A fact with its sources, a brief of the newest articles, or the refusal's reason."""
    notes = _notes(answer)
    if answer.items:
        return "\n".join([*notes, render_brief(answer)])
    if answer.sentence is None:
        return "\n".join([*notes, refusal_text(answer)])
    s = answer.sentence
    before, span, after = _plain(s.text[: s.start]), _plain(s.highlight), _plain(s.text[s.end :])
    on, off = (BOLD, RESET) if color else ("**", "**")
    marked = f"{before}{on}{span}{off}{after}" if span else _plain(s.text)
    if answer.context:
        marked += " " + _plain(answer.context)
    lines = [*notes, marked, _plain(answer.as_of()), "", "Sources:"]
    for number, hit in enumerate(answer.sources(sources), start=1):
        lines.append(f"  {number}. {citation(hit)}")
        if hit.article.url:
            lines.append(f"     {_plain(hit.article.url)}")
    return "\n".join(lines)


def render_brief(answer: Answer) -> str:
    heading = f"Latest on {answer.topic}:" if answer.topic else "Latest news:"
    lines = [_plain(heading)]
    for number, item in enumerate(answer.items, start=1):
        lines.append(f"  {number}. {citation(item.hit)}")
        lines.append(f"     {_plain(item.sentence)}")
        if item.hit.article.url:
            lines.append(f"     {_plain(item.hit.article.url)}")
    return "\n".join(lines)


CHITCHAT_HINT = (
    'Ask me about the news, for example: newsbot ask "How many GPUs will Meta have?", '
    'or newsbot ask "what\'s new?" for the latest headlines.'
)
NOT_ENGLISH = (
    "I can only answer questions in English: the indexed news is in English. Try asking in English."
)


def refusal_text(answer: Answer) -> str:
    """The reason there is no answer, in the terminal's words."""
    if answer.refusal is Refusal.CHITCHAT:
        return CHITCHAT_HINT
    if answer.refusal is Refusal.NOT_ENGLISH:
        return NOT_ENGLISH
    if answer.refusal is Refusal.FILTERED:
        return _plain(answer.detail or "The filters leave no article to search.")
    text = not_found_text(answer)
    if answer.nearest:
        text += "\nClosest headlines, if you want to rephrase:"
        text += "".join(
            f"\n  - {_plain(a.title)} ({format_date(a.published)})" for a in answer.nearest
        )
    return text


def not_found_text(answer: Answer) -> str:
    when = answer.indexed_at.strftime("%Y-%m-%d %H:%M UTC") if answer.indexed_at else "never"
    return (
        f"The indexed news does not cover this question ({answer.articles:,} articles, "
        f"last reindexed {when})."
    )


def _notes(answer: Answer) -> list[str]:
    notes = [f'(Read "{c.typed}" as "{c.read}".)' for c in answer.corrections]
    if answer.read_as:
        notes.append(f"(Follow-up, read as: {answer.read_as})")
    return [_plain(n) for n in notes]


def citation(hit: Hit) -> str:
    article = hit.article
    parts = [article.title or "(untitled)"]
    if article.source:
        parts.append(article.source)
    parts.append(format_date(article.published))
    return _plain(" — ".join(parts))


_UPDATES = {
    "unchanged": "unchanged, nothing new",
    "patched": "patched with the changed articles",
    "rebuilt": "rebuilt",
}


def render_report(report: ReindexReport) -> str:
    c = report.counts
    lines = [
        f"Indexed {report.articles:,} articles as {report.passages:,} passages in {report.seconds:.2f} s.",
        f"Fetched {c.fetched:,}; {c.new:,} new, {c.updated:,} updated, {c.unchanged:,} unchanged, "
        f"{c.duplicates:,} duplicates, {c.failed:,} failed; {report.removed:,} removed, {report.pruned:,} pruned; "
        f"{report.analyzed:,} analyzed.",
        f"Index: {report.index_path} ({_UPDATES[report.index_update]})",
    ]
    if report.problems:
        lines.append(f"Problems ({len(report.problems)}):")
        lines.extend(_plain(f"  {p.origin}: {p.reason}") for p in report.problems)
    return "\n".join(lines)


# Items failing are listed up to this many per source; the rest are counted.
SHOWN_ITEM_FAILURES = 5


def render_coverage(report: CoverageReport) -> str:
    """The coverage report for the terminal: what was refused, and what was voted down."""
    lines = [f"{report.questions:,} questions asked in the last {report.days} days."]
    for heading, rows in (
        ("Most often refused (add a source that covers them):", report.refused),
        ("Most often voted down:", report.voted_down),
    ):
        lines += ["", heading]
        lines += [f"  {row.count:>4} × {row.wording}" for row in rows] or ["  none"]
    return "\n".join(lines)


def render_health(health: list[SourceHealth]) -> str:
    lines = []
    for h in health:
        line = f"{h.kind:<4}  {h.label}\n      {h.articles:,} articles"
        if h.kind != "path":
            line += f", last success {_when(h.last_success)}, {h.consecutive_failures} consecutive failures"
            if h.last_error:
                line += f"\n      last error: {h.last_error}"
            if h.backoff_until:
                line += f"\n      backing off: next try after {_when(h.backoff_until)}"
        if h.failing_items:
            line += f"\n      {len(h.failing_items)} items failing:"
            for item in h.failing_items[:SHOWN_ITEM_FAILURES]:
                line += (
                    f"\n        {item.url}: {item.error} "
                    f"({item.failures} times since {_when(item.first_failed)})"
                )
            if len(h.failing_items) > SHOWN_ITEM_FAILURES:
                line += f"\n        … and {len(h.failing_items) - SHOWN_ITEM_FAILURES} more"
        lines.append(_plain(line))
    return "\n".join(lines)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def render_servers(servers: list[ServerInfo], held: dict[str, int], grace_days: float) -> str:
    """For the operator: each server, whether the bot is still in it, and its own sources."""
    if not servers:
        return "No Discord server has used this bot yet."
    lines = []
    for server in servers:
        state = (
            f"left {server.left_at:%Y-%m-%d}; settings deleted {grace_days:g} days after"
            if server.left_at
            else f"since {server.joined_at:%Y-%m-%d}"
        )
        lines.append(f"{_plain(server.name) or '(unnamed)'} ({server.guild}): {state}")
        for source in server.sources:
            count = held.get(source.ref.origin, 0)
            lines.append(
                f"  - {_plain(source.name)}: {_plain(source.ref.location)}, {count:,} articles"
            )
        if not server.sources:
            lines.append("  no sources of its own")
    return "\n".join(lines)
