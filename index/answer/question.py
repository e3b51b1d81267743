"""Checking a question before it is searched."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from index.dates import parse_date
from index.errors import QuestionError
from index.ingest.clean import clean_line

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


_SINCE = re.compile(r"^\s*(\d+)\s*([hdwmy])\s*$", re.IGNORECASE)
_UNIT_DAYS = {"h": 1 / 24, "d": 1, "w": 7, "m": 30, "y": 365}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """ "7d", "24h", "2w", "3m", "1y" back from now, or a date such as 2024-01-31."""
    now = now or datetime.now(UTC)
    match = _SINCE.match(text or "")
    if match:
        try:
            return now - timedelta(days=int(match.group(1)) * _UNIT_DAYS[match.group(2).lower()])
        except (OverflowError, ValueError):
            raise QuestionError(
                f"'since' {text!r} reaches back before the year 1; give a shorter span such as 30d or 5y."
            ) from None
    moment = parse_date(text)
    if moment is None:
        raise QuestionError(f"'since' must look like 7d, 24h, 2w or 2024-01-31, not {text!r}.")
    return moment
