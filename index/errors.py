"""Domain errors of the core.

Each carries a message that is already one plain sentence saying what is wrong and how to fix it,
so every front end can show ``str(error)`` as it is.
"""


class NewsbotError(Exception):
    """Base class of every error a user can cause or fix."""


class QuestionError(NewsbotError):
    """The question cannot be searched (empty, too long, or without searchable words)."""


class IndexMissingError(NewsbotError):
    """No index has been built at the given folder."""


class IndexVersionError(NewsbotError):
    """The index on disk was written in another format version."""


class IndexCorruptError(NewsbotError):
    """The index folder is damaged: files missing, truncated or inconsistent."""


class EmptyCorpusError(NewsbotError):
    """The sources yielded no article to index."""


class SourceError(NewsbotError):
    """One source (file, line, feed) could not be read; reported and skipped."""
