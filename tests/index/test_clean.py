from index.ingest.clean import clean_line, clean_text


def test_trailing_page_furniture_is_dropped() -> None:
    text = "Meta bought chips.\n\nIt will have more.\n\nNext story loading loading.."
    assert clean_text(text) == "Meta bought chips.\n\nIt will have more."


def test_furniture_glued_to_a_paragraph_by_one_newline_is_dropped() -> None:
    assert (
        clean_text("Real sentence here.\nAdvertisement\nMore of it.")
        == "Real sentence here.\n\nMore of it."
    )


def test_a_sentence_that_merely_mentions_furniture_words_is_kept() -> None:
    text = "Readers were told to read more about the plan before the vote on Tuesday."
    assert clean_text(text) == text


def test_whitespace_is_collapsed_and_unicode_normalised() -> None:
    assert clean_text("Caf\u0065\u0301  costs\u00a0\u200bten\n euros.") == "Café costs ten euros."
    assert clean_line("  Ｍeta\n news ") == "Meta news"
