from index.ingest.urls import canonical_url


def test_tracking_fragments_and_amp_are_removed() -> None:
    assert (
        canonical_url("HTTPS://Example.test/a/amp/?utm_source=x&id=3&fbclid=z#top")
        == "https://example.test/a?id=3"
    )
    assert canonical_url("https://amp.example.test/story.amp.html") == "https://example.test/story"


def test_meaningful_query_parameters_stay_in_a_stable_order() -> None:
    assert canonical_url("https://example.test/p?b=2&a=1") == canonical_url(
        "https://example.test/p?a=1&b=2"
    )
