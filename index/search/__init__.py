"""Finding passages: the analyzer, BM25, the on-disk snapshot and the searcher."""
