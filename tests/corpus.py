"""Small hand-written corpora for tests, written to real files."""

from __future__ import annotations

from pathlib import Path

ARTICLES = {
    "meta.md": """---
title: Meta plans a huge GPU build-out
url: https://example.test/meta-gpus?utm_source=feed
source: Test Times
published: 2024-01-19
---
Meta will own almost 600,000 GPUs by the end of 2024, its chief executive said.

The company bought about 150,000 H100 chips in 2023. Its research groups FAIR and GenAI will work closer together.
""",
    "weather.txt": """Storms hit the northern coast

Heavy rain and strong winds closed schools along the northern coast on Monday. Forecasters expect the storm to weaken by Wednesday.
""",
    "football.md": """---
title: City win the league on the final day
source: Sport Daily
published: 2024-05-19
---
City won the league title for a fourth straight season after beating West Ham 3-1 on the final day.
""",
}


def write_corpus(folder: Path, articles: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (articles or ARTICLES).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
