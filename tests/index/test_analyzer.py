from hypothesis import given, settings
from hypothesis import strategies as st

from index.search.analyzer import _WORD, Analyzer, AnalyzerConfig, _plain_marks


def test_numbers_and_model_names_stay_whole() -> None:
    terms = Analyzer().terms(
        "Meta will have almost 600,000 H100 GPUs in 2024, up 3.5% from GPT-4 era"
    )
    assert "600000" in terms
    assert "h100" in terms
    assert "2024" in terms
    assert "3.5" in terms
    assert "gpt-4" in terms
    assert "600" not in terms and "000" not in terms


def test_the_same_number_written_two_ways_matches() -> None:
    a = Analyzer()
    assert a.terms("600,000") == a.terms("600000")


def test_stopwords_and_question_words_are_dropped() -> None:
    assert Analyzer().terms("What is the capital of the country?") == ["capit", "countri"]


def test_stemming_and_plural_acronyms_meet() -> None:
    a = Analyzer()
    assert a.terms("running runners") == a.terms("run runner")
    assert a.terms("GPUs") == a.terms("GPU")
    assert a.terms("H100s") == a.terms("H100")


def test_case_and_accents_are_folded() -> None:
    a = Analyzer()
    assert a.terms("CAFÉ Zürich") == a.terms("cafe zurich")


def test_possessives_and_curly_apostrophes() -> None:
    a = Analyzer()
    assert a.terms("Meta’s plan") == a.terms("Meta's plan") == a.terms("Meta plan")


def test_config_round_trips_through_json() -> None:
    config = AnalyzerConfig()
    assert AnalyzerConfig.model_validate_json(config.model_dump_json()) == config


def test_spans_point_at_the_words() -> None:
    text = "Meta has 600,000 GPUs."
    spans = Analyzer().spans(text)
    assert [text[s.start : s.end] for s in spans] == ["Meta", "600,000", "GPUs"]


def test_the_fast_path_and_the_span_path_agree() -> None:
    a = Analyzer()
    texts = [
        "Meta’s CEO said GPUs, H100s and 600,000 units — Café Zürich, U.S. open-source GPT-4 deals.",
        "Don't stop: naïve résumé of the co-operative's 3.5% rise in 2024's first quarter!",
        "ﬁnance ministers met; the IMF’s forecast (2.9%) fell. A.I. rules… ‘quoted’ “text”",
    ]
    for text in texts:
        assert a.terms(text) == [s.term for s in a.spans(text)]


# Letters, digits, the joiners a word may hold, accents, curly marks, ligatures and several
# kinds of whitespace: where cutting text at whitespace first could change what a word is.
_TRICKY = st.text(
    alphabet=st.sampled_from([*"aAbSsUu19.,'-’‘ʼ‐‑()é́ﬁ_\u200b", " ", "\n", "\t", "\xa0"]),
    max_size=60,
)


@given(_TRICKY)
@settings(max_examples=400, deadline=None)
def test_cutting_at_whitespace_first_gives_the_whole_texts_terms(text: str) -> None:
    """``terms`` analyzes whitespace-separated pieces, cached; that must equal reading the
    words of the whole text, the rule the index was built by."""
    a = Analyzer()
    whole = [t for w in _WORD.findall(_plain_marks(text)) for t in a._analyze_word(w)]
    assert a.terms(text) == whole
    assert a.terms(text) == whole  # again, from the cache
