"""Answers and reports as Discord embed payloads (plain dicts), always within Discord's limits.

Article text is untrusted: every piece of it goes through ``discord_safe.inert`` (and URLs through
``link_url``) before it is placed, and the client is created with ``AllowedMentions.none()``.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.discord_safe import clip_escaped, inert, link_url
from index.answer.journal import AnswerRecord, CoverageReport, ReportLine
from index.dates import format_date
from index.ingest.health import SourceHealth
from index.ingest.reindex import ProgressEvent, ReindexReport
from index.models import Answer, Hit, Refusal
from index.service import IndexStatus

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
TOTAL_LIMIT = 6000
MAX_SOURCES = 3
ELLIPSIS = "…"
BLUE, GREY, GREEN = 0x3B82F6, 0x9CA3AF, 0x22C55E

Embed = dict[str, object]


def clip(text: str, limit: int) -> str:
    """Cut at a word boundary so the result, ellipsis included, fits in ``limit`` characters."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def answer_embed(answer: Answer) -> Embed:
    """A fact, a brief or a refusal: whichever the answer is."""
    if answer.items:
        return brief_embed(answer)
    if answer.sentence is None:
        return not_found_embed(answer)
    s = answer.sentence
    as_of = f"\n\n*{inert(answer.as_of())}*"
    notes = _notes(answer)
    context = f" {inert(answer.context, 600)}" if answer.context else ""
    room = DESCRIPTION_LIMIT - len(as_of) - len(notes) - len(context)
    if s.highlight:
        body = _marked(s.text[: s.start], s.highlight, s.text[s.end :], room)
    else:
        body = inert(s.text, room)  # a yes/no question: the evidence, no bold guess
    description = notes + body + context + as_of
    sources = "\n".join(
        f"{n}. {_source_line(h)}" for n, h in enumerate(answer.sources(MAX_SOURCES), 1)
    )
    embed: Embed = {
        "title": inert(answer.question, TITLE_LIMIT),
        "description": description,
        "color": BLUE,
        "fields": [{"name": "Sources", "value": clip(sources, FIELD_VALUE_LIMIT), "inline": False}],
        "footer": {"text": _footer(answer)},
    }
    return fit(embed)


def brief_embed(answer: Answer) -> Embed:
    """The newest articles on the topic, each with its most relevant sentence; no bold span."""
    heading = f"Latest on {answer.topic}" if answer.topic else "Latest news"
    fields = []
    for item in answer.items:
        value = inert(item.sentence, 450)  # with a link of at most 512, within a field's 1,024
        url = link_url(item.hit.article.url)
        if url:
            value += f"\n<{url}>"
        meta = " · ".join(
            p
            for p in (inert(item.hit.article.source, 80), format_date(item.hit.article.published))
            if p
        )
        fields.append(
            {
                "name": inert(
                    f"{item.hit.article.title or '(untitled)'}", FIELD_NAME_LIMIT - len(meta) - 3
                )
                + (f" · {meta}" if meta else ""),
                "value": value,
                "inline": False,
            }
        )
    embed: Embed = {
        "title": inert(heading, TITLE_LIMIT),
        "color": BLUE,
        "fields": fields,
        "footer": {"text": _footer(answer)},
    }
    if answer.corrections or answer.read_as:
        embed["description"] = _notes(answer)
    return fit(embed)


CHITCHAT_HINT = (
    "Hi! Ask me about the news with /ask or by mentioning me, for example "
    '"How many GPUs will Meta have?", or "what\'s new?" for the latest headlines.'
)
NOT_ENGLISH = "I only understand questions in English, the language of the news I hold; please ask in English."


def not_found_embed(answer: Answer) -> Embed:
    """The refusal, worded by its reason, with the nearest headlines when the news has none."""
    if answer.refusal is Refusal.CHITCHAT:
        description = CHITCHAT_HINT
    elif answer.refusal is Refusal.NOT_ENGLISH:
        description = NOT_ENGLISH
    elif answer.refusal is Refusal.FILTERED:
        description = inert(answer.detail or "The filters leave no article to search.", 500)
    else:
        description = (
            "The indexed news does not cover this question, so there is no answer to give."
        )
    embed: Embed = {
        "title": inert(answer.question, TITLE_LIMIT),
        "description": _notes(answer) + description,
        "color": GREY,
        "footer": {"text": _footer(answer)},
    }
    if answer.nearest:
        embed["fields"] = [
            {
                "name": "Closest headlines",
                "value": clip(
                    "\n".join(
                        f"{inert(a.title, 200)} · {format_date(a.published)}"
                        for a in answer.nearest
                    ),
                    FIELD_VALUE_LIMIT,
                ),
                "inline": False,
            }
        ]
    return fit(embed)


def sources_embed(record: AnswerRecord) -> Embed:
    """Every passage the answer was built from (up to 10), one line each with its sentence."""
    lines = []
    for n, source in enumerate(record.sources, 1):
        lines.append(
            f"{n}. {_linked(source.title, source.url)} · "
            + " · ".join(p for p in (inert(source.source, 80), format_date(source.published)) if p)
            + f"\n> {inert(source.sentence, 300, line_start=False)}"
        )
    embed: Embed = {
        "title": inert(f"Sources for: {record.question}", TITLE_LIMIT),
        "description": "\n".join(lines) or "This answer came from no article.",
        "color": BLUE,
    }
    return fit(embed)


def why_embed(record: AnswerRecord) -> Embed:
    """The passage the answer's sentence came from, with the question's words in bold."""
    if not record.passage:
        return {
            "title": inert(f"Why: {record.question}", TITLE_LIMIT),
            "description": "There is no answer sentence to explain: the news did not cover it.",
            "color": GREY,
        }
    words = {w.lower() for w in record.matched}
    pieces = re.split(r"([\w'’-]+)", record.passage)
    body = "".join(
        f"**{inert(p, line_start=False)}**"
        if p.lower() in words
        else inert(p, line_start=False, strip=False)
        for p in pieces
    )
    matched = ", ".join(inert(w, 40) for w in record.matched) or "none"
    description = (
        f"From {_linked(record.title or '(untitled)', record.url)}\n\n{clip(body, 3000)}\n\n"
        f"*Words of your question it holds: {matched}*"
    )
    return fit(
        {
            "title": inert(f"Why: {record.question}", TITLE_LIMIT),
            "description": description,
            "color": BLUE,
        }
    )


def _linked(title: str, url: str | None) -> str:
    """``[Headline](url)``, the headline escaped; in bold when the URL is not safe to link."""
    text = inert(title or "(untitled)", 200)
    safe = link_url(url)
    return f"[{text}]({safe})" if safe else f"**{text}**"


def short_refusal(answer: Answer) -> str:
    """A refusal as one line of text, for answer channels where a card would be noise."""
    if answer.refusal is Refusal.FILTERED and answer.detail:
        return error_text(answer.detail)
    if answer.refusal is Refusal.NOT_ENGLISH:
        return NOT_ENGLISH
    if answer.refusal is Refusal.CHITCHAT:
        return CHITCHAT_HINT
    nearest = "; ".join(inert(a.title, 120) for a in answer.nearest[:2])
    return clip(
        "I found nothing on that in the news I hold."
        + (f" Closest: {nearest}." if nearest else ""),
        CONTENT_LIMIT,
    )


def _notes(answer: Answer) -> str:
    notes = [f'Read "{c.typed}" as "{c.read}".' for c in answer.corrections]
    if answer.read_as:
        notes.append(f"Follow-up, read as: {answer.read_as}")
    return "".join(f"*{inert(n, 300)}*\n" for n in notes)


def report_embed(report: ReindexReport) -> Embed:
    c = report.counts
    lines = [
        f"**{report.articles:,}** articles, **{report.passages:,}** passages",
        f"{c.new:,} added, {report.removed + report.pruned:,} removed, {c.updated:,} updated, {c.unchanged:,} unchanged",
        f"{c.fetched:,} fetched, {c.failed:,} failed, {c.duplicates:,} duplicates skipped",
        f"Took {report.seconds:.1f} s",
    ]
    embed: Embed = {"title": "Reindex complete", "description": "\n".join(lines), "color": GREEN}
    if report.problems:
        skipped = "\n".join(inert(f"{p.origin}: {p.reason}", 300) for p in report.problems)
        embed["fields"] = [
            {
                "name": f"Problems ({len(report.problems)})",
                "value": clip(skipped, FIELD_VALUE_LIMIT),
                "inline": False,
            }
        ]
    return fit(embed)


def progress_text(event: ProgressEvent) -> str:
    c = event.counts
    if event.stage == "collecting":
        return (
            f"Reindexing… fetching {event.done:,}/{event.total:,} items "
            f"({c.new:,} new, {c.updated:,} updated, {c.unchanged:,} unchanged, {c.failed:,} failed)"
        )
    return f"Reindexing… {event.stage} {event.done:,}/{event.total:,}"


def status_embed(status: IndexStatus) -> Embed:
    per_source = "\n".join(
        f"{inert(name, 120)}: {count:,}" for name, count in status.per_source.items()
    )
    fields = [
        {
            "name": "Articles per outlet",
            "value": clip(per_source or "none", FIELD_VALUE_LIMIT),
            "inline": False,
        }
    ]
    remote = [h for h in status.sources if h.kind != "path"]
    if remote:
        fields.append(
            {
                "name": "Feeds and pages",
                "value": clip("\n".join(map(_health_line, remote)), FIELD_VALUE_LIMIT),
                "inline": False,
            }
        )
    return fit(
        {
            "title": "Indexed news",
            "description": (
                f"**{status.articles:,}** articles in **{status.passages:,}** passages.\n"
                f"Newest article: {format_date(status.newest)}. Last reindex: {_when(status.indexed_at)}."
            ),
            "color": BLUE,
            "fields": fields,
        }
    )


def _health_line(health: SourceHealth) -> str:
    mark = "✅" if health.consecutive_failures == 0 and health.last_success else "⚠️"
    line = f"{mark} {inert(health.label, 120)}: {health.articles:,} articles, last success {_when(health.last_success)}"
    if health.consecutive_failures:
        line += f", {health.consecutive_failures} failures in a row ({inert(health.last_error or '', 120)})"
    if health.backoff_until:
        line += f", next try after {_when(health.backoff_until)}"
    if health.failing_items:
        line += f", {len(health.failing_items)} items failing"
    return line


def help_embed(cooldown: float = 0.0, answer_channels: list[int] | None = None) -> Embed:
    lines = [
        "I answer questions about the news I have indexed, with the sentence that answers and "
        "its sources.",
        "",
        "**/ask** `question` `since:` `source:` ask a question; `since:` keeps news from then on "
        "(24h, 7d, 30d or a date), `source:` keeps one outlet or site (it suggests as you type). "
        "You can also mention me with the question.",
        "**/latest** `topic` `since:` `source:` the newest articles, on a topic or on everything",
        "**/sources list** what this server's news comes from, and how fresh it is; admins: "
        "**/sources add** `feed:` `url:` follows a feed or a page, **/sources remove** `source` "
        "stops one",
        "**/settings show**, **/settings set** `setting` `value` `channel`, **/settings reset** "
        "`setting` `channel` this server's cooldown, answer channels, admin roles, and per "
        "channel the sources and default `since:` (admins)",
        "**/reindex** refresh this server's news (Manage Server or an admin role)",
        "**/report** `days` the questions most often refused and answers voted down (admins)",
        "**/help** this message",
        "",
        '**Follow-ups:** reply to one of my answers ("and how much did that cost?"), or press '
        "*Ask a follow-up* for a thread where every message you write is a follow-up.",
        "**Under each answer:** 👍 / 👎 tell the admins how I did; *More sources* and *Why this "
        "answer?* show what the answer came from.",
    ]
    if answer_channels:
        channels = ", ".join(f"<#{c}>" for c in answer_channels)
        lines.append(
            f"**Answer channels:** in {channels} every question is answered, no mention needed."
        )
    if cooldown > 0:
        lines.append(f"**Pace:** one question every {cooldown:g} s per member.")
    return {"title": "newsbot", "description": "\n".join(lines), "color": BLUE}


def coverage_embed(report: CoverageReport) -> Embed:
    """For admins: what members asked that the news did not cover, and answers voted down."""

    def listing(lines: list[ReportLine]) -> str:
        text = "\n".join(f"{line.count} × {inert(line.wording, 150)}" for line in lines)
        return clip(text, FIELD_VALUE_LIMIT) if text else "none"

    return fit(
        {
            "title": f"Coverage over the last {report.days} days",
            "description": f"{report.questions:,} questions asked.",
            "color": BLUE,
            "fields": [
                {"name": "Most often refused", "value": listing(report.refused), "inline": False},
                {
                    "name": "Most often voted down",
                    "value": listing(report.voted_down),
                    "inline": False,
                },
            ],
        }
    )


def message_text(text: str) -> str:
    """The bot's own plain message content (progress), within the content limit."""
    return clip(text, CONTENT_LIMIT)


def error_text(text: str) -> str:
    """An error or refusal for a message: inert, since it can quote what a user or a feed wrote."""
    return inert(text, CONTENT_LIMIT)


def embed_length(embed: Embed) -> int:
    """What Discord counts toward the 6,000-character total of an embed."""
    total = len(str(embed.get("title", ""))) + len(str(embed.get("description", "")))
    total += len(str((embed.get("footer") or {}).get("text", "")))  # type: ignore[union-attr]
    for field in embed.get("fields", []) or []:  # type: ignore[union-attr]
        total += len(field["name"]) + len(field["value"])
    return total


def fit(embed: Embed) -> Embed:
    """Shorten the description until the whole embed is within the total limit."""
    excess = embed_length(embed) - TOTAL_LIMIT
    if excess > 0:
        description = str(embed.get("description", ""))
        embed["description"] = clip(description, max(len(description) - excess, 1))
    return embed


def _marked(before: str, span: str, after: str, limit: int) -> str:
    """``before **span** after``, escaped, trimmed around the span so the bold survives."""
    # Only the text before the span starts the line, where "1." or "#" would mean a list or a
    # heading; the spaces next to the span stay.
    span_text = inert(span, limit // 2, line_start=False)
    room = limit - len(span_text) - 4
    before_text = inert(before, strip=False).lstrip()
    after_text = inert(after, line_start=False, strip=False).rstrip()
    if len(before_text) + len(after_text) > room:
        keep_before = min(len(before_text), room // 2)
        after_text = clip_escaped(after_text, max(room - keep_before, 1))
        before_text = _clip_left(before_text, room - len(after_text))
    return f"{before_text}**{span_text}**{after_text}"


def _clip_left(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ""
    cut = text[len(text) - limit + len(ELLIPSIS) :]
    before = text[: len(text) - len(cut)]
    if (len(before) - len(before.rstrip("\\"))) % 2:
        # An odd run of backslashes before the cut ends in the escape of cut's first character:
        # that character lost its backslash, so it goes too. (An even run is escaped
        # backslashes, and the cut starts cleanly.)
        cut = cut[1:]
    space = cut.find(" ")
    if 0 <= space < limit // 2:
        cut = cut[space:]
    return ELLIPSIS + cut


def _source_line(hit: Hit) -> str:
    """``[Headline](url) · Outlet · date`` on one line: the link hides behind its headline."""
    article = hit.article
    parts = [_linked(article.title or "(untitled)", article.url)]
    if article.source:
        parts.append(inert(article.source, 80))
    parts.append(format_date(article.published))
    return " · ".join(p for p in parts if p)


def _footer(answer: Answer) -> str:
    return clip(
        f"{answer.articles:,} articles indexed · last reindex {_when(answer.indexed_at)}",
        FOOTER_LIMIT,
    )


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"
