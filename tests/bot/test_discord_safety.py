"""Nothing from an article reaches Discord live: a property test over arbitrary article text.

Every rendered field is read the way Discord's markdown reads it. What the bot itself writes (its
bold span, italics and ``<url>`` source links) is known; anything else that would render as a link,
a mention, a heading, a list, a quote, a spoiler or code is a leak.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.discord_render import (
    DESCRIPTION_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    TITLE_LIMIT,
    TOTAL_LIMIT,
    answer_embed,
    embed_length,
    report_embed,
    status_embed,
)
from bot.discord_safe import inert, link_url
from index.ingest.health import SourceHealth
from index.ingest.reindex import RefreshCounts, ReindexReport
from index.models import (
    Answer,
    AnswerSentence,
    ArticleMeta,
    BriefItem,
    Correction,
    Hit,
    Problem,
    Refusal,
)
from index.service import IndexStatus

WHEN = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

# Discord shows an escaped character as itself, so each escape stands for a plain letter here.
_ESCAPED = re.compile(r"\\[^\w\s]")
_LIVE = {
    "masked link": re.compile(r"\[[^\]]*\]\s*\("),
    "angle syntax (mention, role, channel, emoji, timestamp, command)": re.compile(
        r"<(?:@[!&]?\d|#\d|a?:\w|t:|/|id:)"
    ),
    "@everyone or @here": re.compile(r"@(?:everyone|here)", re.IGNORECASE),
    "auto-linked URL": re.compile(r"https?://", re.IGNORECASE),
    "heading or subtext": re.compile(r"(?m)^\s*(?:#{1,3}|-#)\s"),
    "block quote": re.compile(r"(?m)^\s*>"),
    "list item": re.compile(r"(?m)^\s*(?:[-*+]|\d+[.)])\s"),
    "spoiler": re.compile(r"\|\|"),
    "code": re.compile(r"`"),
    "strike or underline": re.compile(r"~~|__"),
}
# What the bot writes itself: bold, italics, its own links to sources (masked behind an escaped
# headline, or in angle brackets), and the numbers of its lists ("1. [Title](url)", "1. **Title**"
# when the link is not safe to show).
_OWN_LINK = re.compile(r"<https?://[^\s<>]+>|\[[^\[\]]*\]\(https?://[^\s()<>]+\)")
_OWN_NUMBERS = re.compile(r"(?m)^(?:10|[1-9])\. (?=\[|\*\*)")

MARKUP = (
    "[Claim your prize](https://evil.example/prize)",
    "@everyone",
    "@here",
    "<@123456789012345678>",
    "<@!42>",
    "<@&987654321>",
    "<#1234>",
    "<:pepe:12345>",
    "<a:dance:678>",
    "<t:1700000000:R>",
    "</ask:1>",
    "# Heading",
    "-# small",
    "> quote",
    "- item",
    "1. item",
    "||spoiler||",
    "`code`",
    "```block```",
    "**bold**",
    "__under__",
    "~~strike~~",
    "https://evil.example/x",
    "\\",
    "\n",
    "\r\n",
    "\u2028",
    "\x1b[31m",
)
fragments = st.one_of(
    st.sampled_from(MARKUP),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.text(alphabet="[]()<>@#:!&*_~|`>-+.\\ \n/0123456789aetx", max_size=12),
)
article_text = st.lists(fragments, max_size=14).map("".join)
long_text = st.one_of(article_text, article_text.map(lambda s: s * 200))
urls = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "https://news.example/a_b/c",
            "javascript:alert(1)",
            "https://evil.example/)[x](https://x.y",
            "https://a.example/\n@everyone",
            "https://user@host.example/",
            "ftp://files.example/x",
        ]
    ),
    article_text.map(lambda s: "https://n.example/" + s),
)


def leaks(text: str, own_links: int = 0) -> list[str]:
    """The kinds of live markup in ``text`` that the bot did not write."""
    bare, links = _OWN_LINK.subn("", _OWN_NUMBERS.sub("", _ESCAPED.sub("x", text)))
    found = [name for name, pattern in _LIVE.items() if pattern.search(bare)]
    if links > own_links:
        found.append("more links than the bot wrote")
    return found


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    sentence = draw(long_text) or "x"
    start = draw(st.integers(0, len(sentence) - 1))
    end = draw(st.integers(start + 1, len(sentence)))
    hits = [
        Hit(
            article=ArticleMeta(
                id=f"a{i}",
                url=draw(urls),
                title=draw(long_text),
                source=draw(article_text),
                published=WHEN,
            ),
            position=0,
            text=sentence,
            score=1.0,
        )
        for i in range(draw(st.integers(1, 4)))
    ]
    return Answer(
        question=draw(long_text) or "?",
        sentence=AnswerSentence(text=sentence, start=start, end=end, hit=hits[0]),
        passages=hits,
        indexed_at=WHEN,
        articles=7,
    )


def check_embed(embed: dict, own_links: int = 0) -> None:
    assert len(embed.get("title", "")) <= TITLE_LIMIT
    assert len(embed.get("description", "")) <= DESCRIPTION_LIMIT
    assert len(embed.get("footer", {}).get("text", "")) <= FOOTER_LIMIT
    assert embed_length(embed) <= TOTAL_LIMIT
    for field in embed.get("fields", []):
        assert len(field["name"]) <= FIELD_NAME_LIMIT
        assert len(field["value"]) <= FIELD_VALUE_LIMIT
    parts = [embed.get("title", ""), embed.get("description", ""), *embed.get("fields", [])]
    for part in parts:
        text = part["value"] if isinstance(part, dict) else part
        assert not leaks(text, own_links), (leaks(text, own_links), text)
    for part in [embed.get("title", ""), *(f["name"] for f in embed.get("fields", []))]:
        assert "\n" not in part  # single-line fields stay on one line


def check_answer(answer: Answer) -> None:
    embed = answer_embed(answer)
    cited = answer.sources(3)
    check_embed(embed, own_links=sum(link_url(h.article.url) is not None for h in cited))
    # The bot's own bold survives: exactly one bold span, and the as-of line in italics.
    bare = _ESCAPED.sub("x", embed["description"])
    assert bare.count("**") == 2, embed["description"]


@st.composite
def briefs_and_refusals(draw: st.DrawFn) -> Answer:
    """Briefs, and refusals of every reason, with article text everywhere it can go."""
    metas = [
        ArticleMeta(
            id=f"b{i}", url=draw(urls), title=draw(long_text), source=draw(article_text),
            published=WHEN,
        )
        for i in range(draw(st.integers(1, 5)))
    ]  # fmt: skip
    hits = [Hit(article=m, position=0, text=draw(article_text), score=1.0) for m in metas]
    common = {
        "question": draw(long_text) or "?",
        "indexed_at": WHEN,
        "articles": 3,
        "corrections": [Correction(typed=draw(article_text), read=draw(article_text))],
        "read_as": draw(st.one_of(st.none(), long_text)),
    }
    if draw(st.booleans()):
        items = [BriefItem(hit=h, sentence=draw(long_text)) for h in hits]
        return Answer(**common, items=items, topic=draw(article_text), passages=hits)
    return Answer(
        **common,
        refusal=draw(st.sampled_from(list(Refusal))),
        detail=draw(article_text),
        nearest=metas,
    )


@st.composite
def reports(draw: st.DrawFn) -> ReindexReport:
    problems = [
        Problem(origin=draw(article_text) or "o", reason=draw(article_text) or "r")
        for _ in range(draw(st.integers(0, 30)))
    ]
    return ReindexReport(
        articles=1, passages=1, counts=RefreshCounts(), removed=0, pruned=0, analyzed=0,
        problems=problems, seconds=0.1, index_path="idx",
    )  # fmt: skip


@st.composite
def statuses(draw: st.DrawFn) -> IndexStatus:
    health = [
        SourceHealth(
            kind="feed",
            location=draw(article_text) or "l",
            name=draw(st.one_of(st.none(), article_text)),
            consecutive_failures=draw(st.integers(0, 3)),
            last_error=draw(article_text),
        )
        for _ in range(draw(st.integers(0, 20)))
    ]
    outlets = {draw(article_text) or f"o{i}": i for i in range(draw(st.integers(0, 20)))}
    return IndexStatus(
        articles=1, passages=1, per_source=outlets, newest=WHEN, indexed_at=WHEN, sources=health
    )


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
THOROUGH = settings(max_examples=5000, deadline=None, suppress_health_check=list(HealthCheck))


@FAST
@given(answers())
def test_no_article_text_renders_live_in_an_answer(answer: Answer) -> None:
    check_answer(answer)


@FAST
@given(reports(), statuses())
def test_no_feed_text_renders_live_in_reports_and_status(
    report: ReindexReport, status: IndexStatus
) -> None:
    check_embed(report_embed(report))
    check_embed(status_embed(status))


@FAST
@given(briefs_and_refusals())
def test_no_article_text_renders_live_in_a_brief_or_a_refusal(answer: Answer) -> None:
    embed = answer_embed(answer)
    links = sum(link_url(i.hit.article.url) is not None for i in answer.items)
    check_embed(embed, own_links=links)
    assert _ESCAPED.sub("x", str(embed.get("description", ""))).count("**") == 0


@pytest.mark.slow
@THOROUGH
@given(answers())
def test_five_thousand_fuzzed_answers_leak_nothing(answer: Answer) -> None:
    check_answer(answer)


@pytest.mark.parametrize("markup", MARKUP)
def test_each_known_trick_is_inert_on_its_own(markup: str) -> None:
    text = inert(f"{markup} and {markup}")
    assert not leaks(text), text
    assert "\n" not in text and "\x1b" not in text


def test_the_checker_sees_live_markup() -> None:
    """The property tests are only as good as this: unescaped tricks are caught."""
    for markup in MARKUP[:-7]:
        if markup != "**bold**":  # bold is checked by counting the bot's own pairs
            assert leaks(markup), markup


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "https://a.example/\n@everyone",
        "https://a.example/x y",
        "https://evil.example/)[x](https://x.y",
        "https://user@host.example/",
        "ftp://files.example/x",
        "https://a.example/<@&1>",
        "https://a.example/`x`",
    ],
)
def test_urls_that_are_not_plain_http_are_not_linked(url: str) -> None:
    assert link_url(url) is None


def test_a_plain_url_is_linked() -> None:
    assert (
        link_url(" https://news.example/2024/01/a_b?id=3 ")
        == "https://news.example/2024/01/a_b?id=3"
    )


def test_clipping_the_left_of_escaped_backslashes_keeps_the_next_escape() -> None:
    # Found by the fuzzer: an escaped backslash ("\\\\") then an escaped "<" ("\\<"), cut
    # between the two, used to lose the "<"'s backslash and show a live role mention.
    from bot.discord_render import _clip_left

    escaped = inert("x" * 20 + "\\<@&987654321>" + "y" * 20)
    start = escaped.index("\\<")  # where the "<"'s own backslash is
    clipped = _clip_left(escaped, len(escaped) - start + 1)
    assert clipped.startswith("…") and not leaks(clipped), clipped
