"""Irregular English verb forms, so that a question's "say" also finds an article's "said".

Snowball stemming joins "says" and "saying" to "say" but leaves "said" apart, and "bought" is not
"buy" to it. The index keeps each form as it is (joining them there cost answer quality on
rtqa-dev: "said" is in almost every article); a question's verb reaches for its other forms
instead (``query.build_query``). Forms that are common as other words are left out on purpose
("left", "found", "rose", "lay", "bore", "ground", "saw", "won" as a currency is kept: rare).
"""

from __future__ import annotations

_FORMS = """
be: was were been | begin: began begun | bring: brought | build: built | buy: bought
catch: caught | choose: chose chosen | come: came | dig: dug | do: did done | draw: drew drawn
drink: drank drunk | drive: drove driven | eat: ate eaten | fall: fell fallen | feel: felt
fight: fought | flee: fled | fly: flew flown | forbid: forbade forbidden | forget: forgot forgotten
forgive: forgave forgiven | freeze: froze frozen | get: got gotten | give: gave given | go: went gone
grow: grew grown | hang: hung | have: had has | hear: heard | hide: hid hidden | hold: held
keep: kept | know: knew known | lead: led | lend: lent | lose: lost | make: made | mean: meant
meet: met | pay: paid | ride: rode ridden | ring: rang rung | rise: risen | run: ran
say: said says | see: seen | seek: sought | sell: sold | send: sent | shake: shook shaken
shoot: shot | shrink: shrank shrunk | sing: sang sung | sink: sank sunk | sit: sat | sleep: slept
slide: slid | speak: spoke spoken | spend: spent | stand: stood | steal: stole stolen | stick: stuck
strike: struck | swear: swore sworn | swim: swam swum | take: took taken | teach: taught
tear: tore torn | tell: told | think: thought | throw: threw thrown | understand: understood
wake: woke woken | wear: wore worn | win: won | withdraw: withdrew withdrawn | write: wrote written
"""

IRREGULAR: dict[str, str] = {
    form: base.strip()
    for entry in _FORMS.replace("\n", " | ").split("|")
    if ":" in entry
    for base, forms in [entry.split(":")]
    for form in forms.split()
}


FORMS: dict[str, tuple[str, ...]] = {}
for _form, _base in IRREGULAR.items():
    FORMS[_base] = (*FORMS.get(_base, ()), _form)


def other_forms(word: str) -> tuple[str, ...]:
    """The other forms of an irregular verb typed in its base form: "say" -> ("said", "says").

    Only from the base form: "did Meta buy" asks about an article's "bought", but a question's
    "won" is already the form articles use, and adding "win" only drew sentences about wins in
    general on rtqa-dev.
    """
    return FORMS.get(word.lower(), ())
