from pathlib import Path

from index.ingest.sources import load_sources
from tests.corpus import write_corpus

HTML_PAGE = """<html><head><title>Chip news | Example Daily</title>
<link rel="canonical" href="https://example.test/chips">
<meta property="og:site_name" content="Example Daily">
<meta property="article:published_time" content="2024-01-19T10:00:00Z"></head>
<body><nav><a href="/">Home</a> <a href="/tech">Technology</a> <a href="/login">Log in to your account</a></nav>
<article><h1>Chip news</h1>
<p>Meta will have almost 600,000 GPUs by the end of the year, its chief executive said on Thursday.</p>
<p>The company bought about 150,000 H100 chips last year, as many as Microsoft did.</p></article>
<footer><p>Copyright 2024 Example Daily. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
</body></html>"""


def test_markdown_front_matter_and_first_line_titles(tmp_path: Path) -> None:
    result = load_sources([write_corpus(tmp_path / "news")])
    by_title = {a.title: a for a in result.articles}
    meta = by_title["Meta plans a huge GPU build-out"]
    assert meta.source == "Test Times"
    assert meta.published is not None and meta.published.date().isoformat() == "2024-01-19"
    assert meta.url == "https://example.test/meta-gpus?utm_source=feed"
    assert meta.text.startswith("Meta will own almost 600,000 GPUs")
    weather = by_title["Storms hit the northern coast"]  # title from the first line
    assert weather.text.startswith("Heavy rain")
    assert result.problems == []


def test_html_pages_keep_the_article_and_drop_the_furniture(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(HTML_PAGE, encoding="utf-8")
    [article] = load_sources([tmp_path / "page.html"]).articles
    assert article.title == "Chip news"
    assert article.source == "Example Daily"
    assert article.url == "https://example.test/chips"
    assert "600,000 GPUs" in article.text
    for furniture in ("Log in", "Privacy policy", "All rights reserved", "Technology"):
        assert furniture not in article.text


def test_jsonl_lines_become_articles_and_bad_lines_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "articles.jsonl"
    path.write_text(
        '{"url": "https://example.test/a", "title": "A", "text": "First story text.", "published": "2022-06-12", "source": "cnn.com", "authors": ["X"]}\n'
        "this is not json\n"
        '{"title": "no text field"}\n'
        '{"url": "https://example.test/b", "title": "", "text": "Second story, untitled."}\n',
        encoding="utf-8",
    )
    result = load_sources([path])
    assert [a.url for a in result.articles] == ["https://example.test/a", "https://example.test/b"]
    assert result.articles[0].authors == ("X",)
    assert result.articles[1].title  # falls back to the first words
    reasons = {p.origin: p.reason for p in result.problems}
    assert reasons[f"{path} line 2"] == "is not valid JSON"
    assert "text" in reasons[f"{path} line 3"]


def test_tracking_parameters_do_not_make_a_second_article(tmp_path: Path) -> None:
    write_corpus(tmp_path, {
        "a.md": "---\ntitle: One\nurl: https://example.test/story?utm_source=x&utm_medium=y\n---\nSame story text.",
        "b.md": "---\ntitle: One again\nurl: https://example.test/story#comments\n---\nSame story, other words.",
    })  # fmt: skip
    result = load_sources([tmp_path])
    assert len(result.articles) == 1
    assert result.duplicates == 1


def test_identical_text_without_urls_is_kept_once(tmp_path: Path) -> None:
    write_corpus(
        tmp_path,
        {"a.txt": "Title A\nThe same words here.", "b.txt": "Title B\nThe  same words HERE."},
    )
    result = load_sources([tmp_path])
    assert len(result.articles) == 1


def test_empty_and_unreadable_files_are_reported_and_the_rest_loaded(tmp_path: Path) -> None:
    write_corpus(tmp_path)
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00\x81garbage")
    (tmp_path / "furniture.txt").write_text(
        "Title\n\nAdvertisement\n\nNext story loading loading..", encoding="utf-8"
    )
    result = load_sources([tmp_path])
    reasons = {Path(p.origin).name: p.reason for p in result.problems}
    assert reasons["empty.txt"] == "the file is empty"
    assert reasons["binary.txt"] == "is not UTF-8 text"
    assert "no article text" in reasons["furniture.txt"]
    assert len(result.articles) == 3


def test_a_missing_source_is_reported(tmp_path: Path) -> None:
    result = load_sources([tmp_path / "nowhere"])
    assert result.articles == []
    assert result.problems[0].reason == "no such file or folder"


def test_a_publication_date_in_the_future_is_clamped_to_when_it_was_read(tmp_path: Path) -> None:
    """An article dated 9999-12-31 must not count as the newest news for ever."""
    from datetime import UTC, datetime

    write_corpus(
        tmp_path,
        {
            "future.md": "---\ntitle: Tomorrow's news\npublished: 9999-12-31\n---\nMeta will own many GPUs soon.\n"
        },
    )
    before = datetime.now(UTC)
    [article] = load_sources([tmp_path]).articles
    assert article.published is not None
    assert before <= article.published <= datetime.now(UTC)


def test_terminal_escape_sequences_are_removed_from_articles(tmp_path: Path) -> None:
    write_corpus(
        tmp_path,
        {
            "esc.txt": "Harbour \x1b]0;pwned\x07news\x1b[2J\n\nThe harbour \x1b[31mreopened\x1b[0m on Friday.\x07\x08\n"
        },
    )
    [article] = load_sources([tmp_path]).articles
    assert article.title == "Harbour news"
    assert article.text == "The harbour reopened on Friday."
