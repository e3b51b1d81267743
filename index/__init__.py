"""newsbot's core: sources, cleaning, chunking, analysis, BM25, search and answers.

Nothing here knows about Discord; the front ends in ``bot/`` call into it.
"""

__version__ = "0.1.0"
