"""Lenient date parsing for the many ways news gives a publication date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime


def parse_date(value: object) -> datetime | None:
    """Parse ISO 8601 dates and datetimes, or RFC 2822 dates as feeds write them.

    Returns an aware datetime in UTC, or None when the value is empty or unreadable: a missing
    date never costs us the article.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "undated"
