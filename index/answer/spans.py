"""Question types and answer spans: which part of a sentence is the answer itself.

A small rule-based tagger: a number for "how many", a date for "when", a name for "who". It is
pure Python on purpose; a statistical tagger would be a heavy dependency for the default install.
"""

from __future__ import annotations

import re
from enum import StrEnum

from index.answer.sentences import split_sentences
from index.search.analyzer import Analyzer
from index.search.stopwords import ENGLISH


class QuestionType(StrEnum):
    NUMBER = "number"
    DATE = "date"
    PERSON = "person"
    PLACE = "place"
    THING = "thing"


_ADJ = r"(?:\w+ ){0,2}"  # "which major city", "what hourly amount"
_TYPE_RULES: tuple[tuple[re.Pattern[str], QuestionType], ...] = (
    (re.compile(rf"\bhow (many|much|far|long|old|big|large|tall|high|fast)\b|\b(what|which) {_ADJ}(percentage|share|number|amount|price|rate|sum|figure|total|wage|salary|cost)\b", re.I), QuestionType.NUMBER),
    (re.compile(rf"\bwhen\b|\bhow soon\b|\b(what|which) {_ADJ}(year|date|day|month|time)\b", re.I), QuestionType.DATE),
    (re.compile(rf"\bwho(m|se)?\b|\b(which|what) {_ADJ}(person|people|man|woman|singer|actor|actress|philanthropist|billionaire|member|player|athlete|politician|senator|governor|lawmaker|leader|official|executive|ceo|candidate|author|writer|artist|rapper|musician|director|judge|celebrity)\b", re.I), QuestionType.PERSON),
    (re.compile(rf"\bwhere\b|\b(which|what) {_ADJ}(country|city|state|nation|continent|region|island|town|county|province)\b", re.I), QuestionType.PLACE),
)  # fmt: skip
_DURATION = frozenset(
    {
        "year",
        "years",
        "month",
        "months",
        "week",
        "weeks",
        "day",
        "days",
        "hour",
        "hours",
        "minute",
        "minutes",
        "decade",
        "decades",
    }
)

_QUALIFIER = r"(?:(?:almost|nearly|about|around|roughly|approximately|some|over|under|just over|just under|more than|less than|fewer than|up to|at least|as many as|as much as)\s+)?"
_SCALE = r"(?:\s*(?:%|percent|per cent|hundred|thousand|million|billion|trillion|[mb]n?\b))?"
_NUMBER_WORDS = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|dozens?|hundreds|thousands|millions)"
_NUMBER = re.compile(
    rf"\b{_QUALIFIER}(?:[$€£]\s?)?(?:\d[\d,]*(?:\.\d+)?|{_NUMBER_WORDS}\b){_SCALE}(?P<tail>(?:\s+[A-Za-z0-9][\w'’-]*){{0,3}})",
    re.I,
)
# "a 15-year high": the number is part of a span of time.
_HYPHENED = re.compile(r"-([a-z]+)", re.I)
# A number right after a capitalized word (not opening the sentence, not a possessive, not a
# month or a weekday) is part of a name.
_IN_NAME = re.compile(
    r"(?<=\S )(?!(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun)\w*\s$)[A-Z][\w-]*(?<!['’]s)\s$"
)
_MONTHS = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_DATE = re.compile(
    rf"\b(?:(?:on |in |by )?(?:{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}\s+{_MONTHS}(?:\s+\d{{4}})?|{_MONTHS}\s+\d{{4}}|(?:the )?end of \d{{4}}|(?:early |late |mid-?)?(?:19|20)\d{{2}})|(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)|(?:last|next|this) (?:week|month|year))\b"
)
# A name's hyphenated parts are capitalized too ("Coca-Cola", "Covid-19"); "Teamster-represented"
# is an adjective, not a name.
_NAME_WORD = r"[A-Z][\w'’.]*+(?:-[A-Z0-9][\w'’.]*+)*+(?![\w-])"
_NAME = re.compile(rf"\b{_NAME_WORD}(?:\s+(?:of |de |von |van |the |al-|& )?{_NAME_WORD})*")
# Whole lower-case words only: not the "i" of "iPhone" or the "s" of "Twitter's".
_LOWERCASE_WORD = re.compile(r"(?<![\w'’.-])[a-z]+\b(?!['’.-]\w)")
_LEADING_LETTERS = re.compile(r"[A-Za-z]+")
_LOCATIVE = re.compile(r"\b(?:in|at|near|from|to|across|outside|inside|off)\s+(?:the\s+)?$", re.I)
_NAME_TAIL = re.compile(r"(?:['’]s)?[.,'’]*$")
_SENTENCE_START_WORDS = frozenset(
    "The A An In On At By For But And It He She They This That These Those".split()
)
# ", who legally changed his name to Ye," describes someone; it does not ask who.
_RELATIVE_CLAUSE = re.compile(r",\s*(?:who|whom|whose|where|when|which)\b[^,?]*,")
# "which kind of animal" asks for an animal.
_FOCUS = re.compile(
    r"\b(?:which|what)\s+(?:(?:kind|type|sort|breed|species)\s+of\s+)?((?:[\w'’-]+\s*){1,3})",
    re.I,
)


def common_words(text: str) -> frozenset[str]:
    """The words ``text`` writes in lower case: evidence that "Analysts" or "Rather" opening a
    sentence is an ordinary word, not a name."""
    return frozenset(_LOWERCASE_WORD.findall(text))


def _first_word_lower(word: str) -> str:
    letters = _LEADING_LETTERS.match(word)
    return letters.group().lower() if letters else ""


def _bare(word: str) -> str:
    """The name without a possessive or trailing punctuation: "Twitter's." -> "Twitter"."""
    return _NAME_TAIL.sub("", word)


def asking_part(question: str) -> str:
    """The question's last sentence without relative clauses: in "Members of a group who planned
    a riot were arrested. Where was the event?" the ask is "where"."""
    sentences = split_sentences(question) or [question]
    return _RELATIVE_CLAUSE.sub(",", sentences[-1])


def question_focus(question: str, analyzer: Analyzer) -> set[str]:
    """The terms naming what a which/what question asks for: "park" in "which US national park
    was flooded", "hurricane" in "due to which hurricane". An answer named with them
    ("Yellowstone National Park", "Hurricane Fiona") is the kind of thing asked for."""
    match = _FOCUS.search(asking_part(question))
    if not match:
        return set()
    words: list[str] = []
    for word in match.group(1).split():
        if word.lower() in ENGLISH:
            break
        # Names ("WNBA team", "US Senate seat") and past tenses ("automaker recalled") qualify
        # the thing asked for; they do not name its kind.
        if word[0].islower() and not word.endswith("ed"):
            words.append(word)
    return set(analyzer.terms(" ".join(words)))


def question_type(question: str) -> QuestionType:
    """What kind of answer the question asks for."""
    asking = asking_part(question)
    for pattern, kind in _TYPE_RULES:
        if pattern.search(asking):
            return kind
    return QuestionType.THING


def find_span(
    sentence: str,
    asked: set[str],
    kind: QuestionType,
    analyzer: Analyzer,
    exclude: frozenset[str] | set[str] = frozenset(),
    common: frozenset[str] = frozenset(),
    focus: set[str] | frozenset[str] = frozenset(),
) -> tuple[int, int] | None:
    """The span of ``sentence`` answering a question of terms ``asked``, or None if none stands out.

    Names made only of ``exclude`` terms (the outlet's own name, as in a dateline) never answer.
    A lone capitalized word opening the sentence is no name when ``common`` (the
    :func:`common_words` of the text around it) holds it in lower case.
    """
    if kind is QuestionType.NUMBER:
        return _best_number(sentence, asked, analyzer)
    if kind is QuestionType.DATE:
        return _first_new(_DATE, sentence, asked, analyzer)
    return _best_name(sentence, asked | exclude, analyzer, kind, common, focus)


def _best_number(sentence: str, asked: set[str], analyzer: Analyzer) -> tuple[int, int] | None:
    best: tuple[float, int, int] | None = None
    for match in _NUMBER.finditer(sentence):
        number = match.group()[: match.start("tail") - match.start()].strip()
        core = analyzer.terms(number)
        if core and all(t in asked for t in core):
            continue  # the question's own number is not its answer
        start = match.start()
        end = match.start() + len(match.group()[: match.start("tail") - match.start()].rstrip())
        score = 0.0
        # Stretch over the words after the number up to the last one the question asked about:
        # "600,000 GPUs", "150,000 H100 chips".
        for word in re.finditer(r"\S+", match.group("tail")):
            if set(analyzer.terms(word.group())) & asked:
                end = match.start("tail") + word.end()
                score = 2.0
        if number[0].isdigit() and _IN_NAME.search(sentence, 0, start):
            continue  # "Boeing 737", "Max 9": a model's number, not a count
        if re.fullmatch(r"(?:19|20)\d{2}", number):
            score -= 1.5  # a bare year is rarely the count asked for
        tail = match.group("tail").split()
        hyphened = _HYPHENED.match(sentence, end)
        unit = tail[0] if tail else hyphened.group(1) if hyphened else ""
        if unit.lower() in _DURATION and not asked & {"long", "old"}:
            score -= 1.0  # "less than 10 years" is a span of time, not the count asked for
        if not number[0].isdigit() and number[0] not in "$€£":
            score += 0.3  # a qualified figure ("almost 600,000") is the headline number
        if best is None or score > best[0]:
            best = (score, start, end)
    # A figure that reads as a year or a span of time is no answer to "how many" at all.
    return (best[1], best[2]) if best and best[0] >= 0 else None


def _first_new(
    pattern: re.Pattern[str], sentence: str, asked: set[str], analyzer: Analyzer
) -> tuple[int, int] | None:
    for match in pattern.finditer(sentence):
        if not set(analyzer.terms(match.group())) <= asked:
            return match.span()
    return None


def _best_name(
    sentence: str,
    asked: set[str],
    analyzer: Analyzer,
    kind: QuestionType,
    common: frozenset[str],
    focus: set[str] | frozenset[str],
) -> tuple[int, int] | None:
    best: tuple[float, int, int] | None = None
    for match in _NAME.finditer(sentence):
        words = match.group().split()
        start = match.start()
        if match.start() == 0 and words[0] in _SENTENCE_START_WORDS:
            words = words[1:]
            start = match.start() + len(match.group()) - len(" ".join(words))
        if start == 0 and len(words) == 1 and _first_word_lower(words[0]) in common:
            continue
        text = _bare(" ".join(words))
        terms = analyzer.terms(text)
        if not terms or set(terms) <= asked:
            continue
        new = [t for t in terms if t not in asked]
        score = float(len(new))
        if kind is QuestionType.PERSON and len(words) >= 2:
            score += 1.0  # "Maria Lopez" over "Lopez" or "Council"
        if kind is QuestionType.PLACE and _LOCATIVE.search(sentence, 0, start):
            score += 2.0  # "in Memphis" over "Nvidia GPUs"
        if focus & set(terms):
            score += 2.0  # "Yellowstone National Park" for "which park"
        if best is None or score > best[0]:
            best = (score, start, start + len(text))
    return (best[1], best[2]) if best else None
