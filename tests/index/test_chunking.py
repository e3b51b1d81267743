import pytest
from pydantic import ValidationError

from index.answer.sentences import split_sentences
from index.ingest.chunking import ChunkingConfig, chunk_text, cut_text


def _sentences(n: int, words: int = 10) -> str:
    return " ".join(f"Sentence {i} " + " ".join(["word"] * (words - 3)) + " end." for i in range(n))


def test_passages_hold_whole_sentences_up_to_the_size() -> None:
    passages = chunk_text(_sentences(12), ChunkingConfig(words=40, overlap=10))
    assert all(p.endswith("end.") for p in passages)
    assert all(len(p.split()) <= 40 for p in passages[:-1])
    assert len(passages) > 1


def test_consecutive_passages_overlap_by_whole_sentences() -> None:
    passages = chunk_text(_sentences(12), ChunkingConfig(words=40, overlap=10))
    first_last_sentence = split_sentences(passages[0])[-1]
    assert split_sentences(passages[1])[0] == first_last_sentence


def test_every_sentence_lands_in_some_passage() -> None:
    text = _sentences(30)
    passages = chunk_text(text, ChunkingConfig(words=50, overlap=10))
    covered = {s for p in passages for s in split_sentences(p)}
    assert covered == set(split_sentences(text))


def test_each_passage_is_the_words_of_its_sentences() -> None:
    """Analysis reads a passage's words from its sentences (shared by overlapping passages),
    not from its text: they must be the same words."""
    text = "Opening paragraph.\n\n" + _sentences(30) + "\n\nA heading\n\nLast words here."
    for config in (ChunkingConfig(words=50, overlap=10), ChunkingConfig()):
        cut = cut_text(text, config)
        assert cut.passages == chunk_text(text, config)
        for passage, (start, end) in zip(cut.passages, cut.spans, strict=True):
            assert passage.split() == [w for s in cut.sentence_words[start:end] for w in s]
    short = cut_text("A short story.\n\nIn two  paragraphs.", ChunkingConfig())
    assert short.spans == [(0, 2)]
    assert short.passages[0].split() == [w for s in short.sentence_words for w in s]
    assert cut_text(" \n\n ", ChunkingConfig()).passages == []


def test_an_overlong_sentence_is_cut_by_words() -> None:
    passages = chunk_text(" ".join(["word"] * 250) + ".", ChunkingConfig(words=100, overlap=0))
    assert [len(p.split()) for p in passages] == [100, 100, 50]


def test_overlap_must_be_smaller_than_the_passage() -> None:
    with pytest.raises(ValidationError, match="overlap must be smaller"):
        ChunkingConfig(words=50, overlap=50)


def test_sentence_splitter_knows_abbreviations_and_initials() -> None:
    text = 'Mr. Smith met Sen. Jones in the U.S. capital. John F. Kennedy spoke. "It is done." She left.'
    assert split_sentences(text) == [
        "Mr. Smith met Sen. Jones in the U.S. capital.",
        "John F. Kennedy spoke.",
        '"It is done."',
        "She left.",
    ]


@pytest.mark.parametrize("words", [20, 300])  # cut into several passages, and kept whole
def test_paragraph_breaks_survive_so_a_heading_stays_apart(words: int) -> None:
    # Scraped pages put headings on lines of their own, without a full stop.
    text = (
        "The council met on Monday and talked about the harbour bridge for hours.\n\n"
        "Tony Awards\n\n"
        "Broadway's best were recognized on Sunday night in a packed hall in Manhattan."
    )
    passages = chunk_text(text, ChunkingConfig(words=words, overlap=5))
    sentences = [s for p in passages for s in split_sentences(p)]
    assert "Tony Awards" in sentences
    assert any(s.startswith("Broadway's best") for s in sentences)
    if words == 300:
        assert passages == [text]
