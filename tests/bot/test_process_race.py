"""Many readers, one writer, separate processes: a reindex loop flipping the news between two
versions, four processes asking in a loop, and a long-running service; every ask is answered and
the service ends on the newest snapshot. NEWSBOT_RACE_SECONDS sets the length (default 60; the
issue's figure was measured at 300)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.launcher import build_service
from bot.settings import load_settings
from tests.helpers import child_env, newsbot_command

QUESTION = "How many ships did the harbour master count?"
ASK_LOOP = """
import subprocess, sys, time
end = time.monotonic() + float(sys.argv[1])
asked = failed = 0
while time.monotonic() < end:
    result = subprocess.run([sys.argv[2], "ask", "--config", sys.argv[3], sys.argv[4]],
                            capture_output=True, text=True)
    asked += 1
    if result.returncode != 0 or "ships" not in result.stdout:
        failed += 1
        print("FAILED", result.returncode, result.stderr.strip()[:300], flush=True)
print("ASKED", asked, "FAILED", failed, flush=True)
"""


@pytest.mark.slow
def test_a_reindex_loop_against_four_asking_processes_and_a_service(tmp_path: Path) -> None:
    seconds = float(os.environ.get("NEWSBOT_RACE_SECONDS", "60"))
    news = tmp_path / "news"
    news.mkdir()

    def version(n: int) -> None:
        for dock in range(30):
            (news / f"dock-{dock}.md").write_text(
                f"---\ntitle: Dock {dock}\n---\nThe harbour master counted {n} ships at dock {dock} today.\n",
                encoding="utf-8",
            )

    version(0)
    config = tmp_path / "newsbot.toml"
    config.write_text(
        f'[index]\npath = "{tmp_path / "idx"}"\n\n[[sources]]\npath = "{news}"\n', encoding="utf-8"
    )
    assert (
        subprocess.run(
            [newsbot_command(), "reindex", "--config", str(config)], env=child_env(), check=False
        ).returncode
        == 0
    )
    service = build_service(load_settings(config))
    askers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                ASK_LOOP,
                str(seconds),
                newsbot_command(),
                str(config),
                QUESTION,
            ],
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    end = time.monotonic() + seconds
    reindexes = service_asks = service_failures = 0
    latest = 0
    while time.monotonic() < end:
        latest += 1
        version(latest)
        done = subprocess.run([newsbot_command(), "reindex", "--config", str(config)], env=child_env(), capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        reindexes += 1
        for _ in range(5):
            answer = service.answer(QUESTION)
            service_asks += 1
            service_failures += answer.sentence is None
    outputs = [p.communicate(timeout=120)[0] for p in askers]
    summaries = [
        line.split() for out in outputs for line in out.splitlines() if line.startswith("ASKED")
    ]
    asked = sum(int(s[1]) for s in summaries)
    failed = sum(int(s[3]) for s in summaries)
    print(f"race: {seconds:g} s, {reindexes} reindexes, {asked} asks by 4 processes, {failed} failed; "
          f"{service_asks} service asks, {service_failures} failed")  # fmt: skip
    assert len(summaries) == 4 and asked > 0
    assert failed == 0, "\n".join(outputs)
    assert service_failures == 0
    final = service.answer(QUESTION)
    assert final.sentence is not None and f"{latest} ships" in final.sentence.text
