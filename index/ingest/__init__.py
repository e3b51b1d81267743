"""Getting the news in: sources, feeds and pages fetched over HTTP, cleaning, chunking and the article store, up to the refresh that ties them together."""
