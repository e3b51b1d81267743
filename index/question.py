"""Checking a question before it is searched."""

from __future__ import annotations

from index.clean import clean_line
from index.errors import QuestionError

MAX_QUESTION_CHARS = 500


def clean_question(text: str | None, max_chars: int = MAX_QUESTION_CHARS) -> str:
    """Return the question on one line, or raise ``QuestionError`` saying how to fix it."""
    question = clean_line(text or "")
    if not question:
        raise QuestionError(
            'The question is empty; ask something like "How many GPUs will Meta have?".'
        )
    if len(question) > max_chars:
        raise QuestionError(
            f"The question is {len(question):,} characters long; keep it under {max_chars:,} characters."
        )
    return question
