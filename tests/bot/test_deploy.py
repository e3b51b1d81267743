"""The deployment files: the systemd unit passes systemd's own check (when systemd is here), and
the container recipe runs the same command the README documents."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import newsbot_command

DEPLOY = Path(__file__).parents[2] / "deploy"
# Keys for restart backoff that systemd 254 added; older versions warn and ignore them.
NEWER_KEYS = ("RestartSteps", "RestartMaxDelaySec")


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)
def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    unit = (DEPLOY / "newsbot.service").read_text(encoding="utf-8")
    assert "Restart=on-failure" in unit and "EnvironmentFile=" in unit and "StateDirectory=" in unit
    # Point it at this checkout's newsbot: systemd checks that the command exists.
    local = tmp_path / "newsbot.service"
    local.write_text(
        unit.replace("/opt/newsbot/venv/bin/newsbot", newsbot_command()), encoding="utf-8"
    )
    result = subprocess.run(
        ["systemd-analyze", "verify", str(local)], capture_output=True, text=True, check=False
    )
    complaints = [
        line
        for line in result.stderr.splitlines()
        if line.strip() and not any(k in line for k in NEWER_KEYS)
    ]
    assert result.returncode == 0 and not complaints, result.stderr


def test_the_container_recipe_runs_newsbot_as_a_user_with_a_health_check() -> None:
    recipe = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    assert recipe.startswith("#") and "FROM python:3.11" in recipe
    assert "USER newsbot" in recipe and 'CMD ["newsbot", "run"]' in recipe
    assert "HEALTHCHECK" in recipe and '"newsbot", "status"' in recipe
