"""Reading a question the way people type it in a chat: wrappers, open questions, chit-chat,
other languages and follow-ups.

Nothing here needs the index: it turns the typed text (and the conversation so far) into what to
search for and what kind of answer is wanted. ``Conversation`` is plain data, so the Discord side
can rebuild it from a reply chain or a thread, and the terminal keeps it in memory.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from index.search.searcher import SearchFilters


class Intent(StrEnum):
    FACT = "fact"  # a question with one answer: a sentence and its highlighted span
    BRIEF = "brief"  # an open question ("what's new with Meta?"): the newest relevant articles
    CHITCHAT = "chitchat"  # "hi", "thanks!": not a question about the news
    FOREIGN = "foreign"  # not in English


class Turn(BaseModel):
    """One earlier exchange of a conversation."""

    model_config = ConfigDict(frozen=True)

    question: str = Field(description="what was searched for, follow-ups already resolved")
    asked: str = Field(default="", description="what was typed, wrappers removed")
    subject: str | None = Field(
        default=None, description="what the answer was about: its highlighted span, or a topic"
    )
    filters: SearchFilters | None = None


class Conversation(BaseModel):
    """The earlier turns, oldest first. Only the last few matter."""

    turns: list[Turn] = []

    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def add(self, turn: Turn, keep: int = 6) -> Conversation:
        return Conversation(turns=[*self.turns, turn][-keep:])


class Reading(BaseModel):
    """What a question asks for, ready to search."""

    intent: Intent
    query: str = Field(description="the words to search for, wrappers gone, follow-up resolved")
    topic: str = Field(default="", description="for a brief: what it is about ('' = everything)")
    followup: bool = False
    filters: SearchFilters | None = Field(
        default=None, description="filters carried over from the conversation"
    )


# ----- wrappers: words that frame a question without being part of it ----------------------------

_OPENERS = [
    r"(?:hey|hi|hello|yo|ok(?:ay)?|so|um+|well|please|pls|quick question)(?:\s+(?:bot|newsbot|there|all|everyone))?[,:!.]?",
    r"@?newsbot[,:]?",
    r"(?:can|could|would|will) you (?:please )?(?:tell|show|give) me",
    r"(?:can|could|would|will) you (?:please )?(?:find out|check|look up|say)",
    r"(?:do|does) (?:you|anyone|anybody) know",
    r"i(?:'d| would) like to know",
    r"i (?:want|wanna|need) to know",
    r"i(?:'m| am) (?:curious|wondering)(?: about)?",
    r"(?:tell|show) me",
    r"any idea",
    r"just wondering",
]
_CLOSERS = [
    r"please",
    r"pls",
    r"thanks?(?: you)?",
    r"thx",
    r"if you know",
    r"by any chance",
]
_OPENER = re.compile(rf"^\s*(?:{'|'.join(_OPENERS)})\s*[,:]?\s*", re.IGNORECASE)
_CLOSER = re.compile(rf"[\s,]*\b(?:{'|'.join(_CLOSERS)})\s*[.!?]*\s*$", re.IGNORECASE)


def strip_wrappers(text: str) -> str:
    """The question without "hey bot, can you tell me … please": only what it asks."""
    previous = None
    while previous != text:
        previous = text
        text = _OPENER.sub("", text, count=1)
        text = _CLOSER.sub("", text)
    # "tell me how many" leaves "how many"; "can you tell me whether" leaves "whether".
    return re.sub(r"^(?:if|whether)\s+", "", text.strip(), flags=re.IGNORECASE)


# ----- open questions: a topic, not a fact ---------------------------------------------------------

_TOPIC = r"(?P<topic>.*?)"
_BRIEFS = [
    rf"what(?:'s| is| are)(?: the)? (?:new|latest|happening|going on|up)(?: news)? (?:with|on|about|at|in|for) {_TOPIC}",
    rf"what(?:'s| is| has been)(?: been)? happening (?:with|to|at|in) {_TOPIC}",
    rf"what happened (?:with|to|at) {_TOPIC}",
    rf"(?:any|the|latest|recent|some)? ?(?:latest |recent )?(?:news|updates?|headlines|stories) (?:about|on|from|regarding|for|with) {_TOPIC}",
    rf"(?:tell me |talk )?about {_TOPIC}",
    rf"(?:summari[sz]e|recap|brief me on|catch me up on|fill me in on)(?: the)?(?: (?:latest )?news)?(?: (?:about|on))? {_TOPIC}",
    rf"(?:the )?latest (?:on|about|with|from) {_TOPIC}",
    rf"what(?:'s| is) (?:the )?(?:story|deal|situation) (?:with|on) {_TOPIC}",
    rf"how(?:'s| is| are) {_TOPIC} doing",
    rf"updates? on {_TOPIC}",
]
# Each pattern's topic group gets its own name: Python refuses a name used twice.
_BRIEF = re.compile(
    "^(?:"
    + "|".join(p.replace("(?P<topic>", f"(?P<t{i}>") for i, p in enumerate(_BRIEFS))
    + r")\s*[?.!]*$",
    re.IGNORECASE,
)
_LATEST = re.compile(
    r"^(?:what(?:'s| is| are)(?: the)? )?(?:latest|newest|recent|today'?s?|top)(?: news| headlines| stories)?"
    r"|^(?:what(?:'s| is) )?new(?:s)?(?: today)?|^(?:any )?news(?: today)?|^headlines"
    r"|^what(?:'s| is) (?:happening|going on)(?: in the world| today)?",
    re.IGNORECASE,
)
_QUESTION_WORDS = re.compile(
    r"^(?:who|whom|whose|what|which|when|where|why|how|is|are|was|were|do|does|did|can|could|"
    r"will|would|should|has|have|had)\b",
    re.IGNORECASE,
)
_ANY_QUESTION_WORD = re.compile(
    r"\b(?:who|whom|whose|what|what's|which|when|where|why|how|tell me|any news)\b", re.I
)
MIN_QUESTION_WORDS = 3


def looks_like_question(text: str) -> bool:
    """Is a chat message a question at all? "thanks!" and "lol nice" are not; "how many GPUs
    will Meta have" is, without its question mark. For channels where every message is read."""
    words = text.split()
    if len(words) < MIN_QUESTION_WORDS:
        return False
    return "?" in text or bool(
        _QUESTION_WORDS.match(text.strip()) or _ANY_QUESTION_WORD.search(text)
    )


_TOPIC_FILLER = re.compile(r"^(?:the|a|an)\s+|\s+(?:news|lately|recently|these days|today)$", re.I)


def brief_topic(text: str) -> str | None:
    """The topic of an open question ("" for the latest news in general), or None for a fact."""
    plain = text.strip().rstrip("?.! ")
    if _LATEST.fullmatch(plain):
        return ""
    match = _BRIEF.match(text.strip())
    if match:
        topic = next((v for v in match.groupdict().values() if v), "")
        return _TOPIC_FILLER.sub("", topic.strip()).strip()
    words = plain.split()
    # A bare topic: a few words, no question word, no verb-like question ("xai", "nvidia earnings").
    if 0 < len(words) <= 3 and not text.strip().endswith("?") and not _QUESTION_WORDS.match(plain):
        return plain
    return None


# ----- chit-chat and other languages ---------------------------------------------------------------

_CHITCHAT = re.compile(
    r"^(?:h(?:i|ey|ello|owdy)+|yo|sup|gm|good (?:morning|afternoon|evening|night)|"
    r"thanks?(?: you)?(?: (?:so|very) much)?|thx|ty|cheers|lol|lmao|haha+|nice|cool|great|"
    r"awesome|ok(?:ay)?|k|wow|good bot|bad bot|bye|goodbye|how are you(?: doing)?|"
    r"who are you|what are you|what can you do|help|test(?:ing)?|ping|\W*)"
    r"(?:[\s,!.?]+(?:bot|newsbot|there|all|man|dude|mate|so much|again|nice|lol))*[\s!.?:)(]*$",
    re.IGNORECASE,
)

# Function words that mark a language: a question made of these, without English ones, is not
# in English. Kept to words that are not English words too.
_FOREIGN = {
    "Spanish": "el la los las del al que quién quien qué cuándo cuánto cuántos cuántas dónde cómo por "
    "para una uno es son fue ganó tiene hay pero con sobre este esta",
    "French": "le les des du au aux de la et que qui quoi quand combien où comment pourquoi est "
    "sont une un avec pour sur dans c'est qu'est elle il ils nous vous",
    "German": "der die das den dem des und ist sind wer wie warum wann wieviel wo was ein eine einen "
    "mit für auf nicht hat haben",
    "Italian": "il lo gli della delle che chi cosa quando quanto quanti dove come perché è sono una "
    "con per",
    "Portuguese": "o os as da do das dos que quem quando quanto quantos onde como porque é são uma "
    "com para não",
}
_FOREIGN_WORDS = {lang: frozenset(words.split()) for lang, words in _FOREIGN.items()}
_ENGLISH_MARKERS = frozenset(
    "the of and is are was were what who which when where why how does did will would can could "
    "has have had this that these those with from about many much".split()
)


def language_of(text: str) -> str | None:
    """The language a question is written in when it is clearly not English, else None."""
    words = re.findall(r"[\w']+", text.lower())
    if not words or any(w in _ENGLISH_MARKERS for w in words):
        return None
    best, hits = None, 0
    for language, markers in _FOREIGN_WORDS.items():
        count = sum(w in markers for w in words)
        if count > hits:
            best, hits = language, count
    # Spanish and French open questions with "¿" or hold accented function words.
    return best if hits >= 2 or (hits == 1 and text.lstrip().startswith("¿")) else None


def is_chitchat(text: str) -> bool:
    return bool(_CHITCHAT.fullmatch(text.strip()))


# ----- follow-ups ------------------------------------------------------------------------------

_WHAT_ABOUT = re.compile(
    r"^(?:and\s+)?(?:what|how)\s+about\s+(?P<other>.+?)\s*[?.!]*$", re.IGNORECASE
)
_LEADS = re.compile(r"^(?:and|also|so|then|but|ok(?:ay)? and)\b[\s,]*", re.IGNORECASE)
_PRONOUNS = re.compile(
    r"\b(?:it|its|it's|that|this|those|these|they|them|their|theirs|he|him|his|she|her|hers|"
    r"there|the same|the company|the firm|the team|the group)\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'&.-]*(?:\s+[A-Z][\w'&.-]*)*")


def read_question(text: str, conversation: Conversation | None = None) -> Reading:
    """What ``text`` asks for, in the light of the conversation so far."""
    previous = conversation.last() if conversation else None
    carried = previous.filters if previous else None
    if is_chitchat(text):
        return Reading(intent=Intent.CHITCHAT, query="")
    stripped = strip_wrappers(text)
    if not stripped.strip(" ?!.,"):
        return Reading(intent=Intent.CHITCHAT, query="")
    if language_of(stripped):
        return Reading(intent=Intent.FOREIGN, query=stripped)
    if previous is not None:
        resolved = _resolve_followup(stripped, previous)
        if resolved is not None:
            topic = brief_topic(resolved) if brief_topic(stripped) is not None else None
            if topic:
                return Reading(
                    intent=Intent.BRIEF, query=topic, topic=topic, followup=True, filters=carried
                )
            return Reading(intent=Intent.FACT, query=resolved, followup=True, filters=carried)
    topic = brief_topic(stripped)
    if topic is not None:
        return Reading(intent=Intent.BRIEF, query=topic, topic=topic)
    return Reading(intent=Intent.FACT, query=stripped)


def _resolve_followup(text: str, previous: Turn) -> str | None:
    """The follow-up made to stand on its own, or None when it already does.

    The context comes first and the follow-up last, so that the follow-up is "the asking part"
    of the question (``spans.asking_part``): its words decide the kind of answer and weigh most.
    """
    about = _WHAT_ABOUT.match(text)
    if about:
        base = previous.asked or previous.question
        swapped, replaced = _swap_subject(base, about.group("other"))
        return swapped if replaced else f"{previous.question} {swapped}"
    led = bool(_LEADS.match(text))
    body = _LEADS.sub("", text)
    names = _CAPITALISED.findall(body)
    pronoun = bool(_PRONOUNS.search(body))
    short = len(re.findall(r"\w+", body)) <= 6
    if not (led or pronoun or (short and not names)):
        return None  # it names its own subject and does not lean on the last answer
    if names and not pronoun and not led:
        return None
    subject = f" {previous.subject.rstrip('.')}." if previous.subject else ""
    question = previous.question.rstrip()
    if question[-1:] not in "?.!":
        question += "?"
    body = body.strip()
    # A capital, so that the follow-up is read as a sentence of its own (sentences.split_sentences).
    return f"{question}{subject} {body[:1].upper()}{body[1:]}"


def _swap_subject(question: str, other: str) -> tuple[str, bool]:
    """'How many H100s did Meta buy?' + 'Microsoft' -> 'How many H100s did Microsoft buy?'.

    Returns the question and whether a name was swapped (else ``other`` was appended)."""
    # A name, not a code such as "H100s": the subject to swap for the new one.
    names = [m for m in _CAPITALISED.finditer(question) if not any(c.isdigit() for c in m.group())]
    if names:
        first = names[0]
        return question[: first.start()] + other + question[first.end() :], True
    return f"{question.rstrip(' ?.!')} {other}?", False
