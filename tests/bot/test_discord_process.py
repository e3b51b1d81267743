"""`newsbot run` and `newsbot sync-commands` as real processes, against the fake Discord.

The child is pointed at the fake by a sitecustomize module that sets the same two discord.py
class attributes the in-process tests set; everything else is the production entry point.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.bot.fake_discord import FakeDiscord
from tests.helpers import child_env, newsbot_command

TOKEN = "process.test-token-0987654321"

SITECUSTOMIZE = """
import os, yarl
import discord.http, discord.gateway
discord.http.Route.BASE = os.environ["FAKE_DISCORD_API"]
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["FAKE_DISCORD_GATEWAY"])
"""


def _env(tmp_path: Path, fake: FakeDiscord) -> dict[str, str]:
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    return child_env(
        DISCORD_TOKEN=TOKEN,
        FAKE_DISCORD_API=fake.api_base,
        FAKE_DISCORD_GATEWAY=fake.gateway_url,
        PYTHONPATH=os.pathsep.join([str(hook), *sys.path]),
        NEWSBOT_HOME=str(tmp_path / "home"),
    )


def test_run_serves_until_sigterm_then_exits_cleanly(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, str]:
        fake = FakeDiscord()
        await fake.start()
        proc = await asyncio.create_subprocess_exec(
            newsbot_command(), "run", env=_env(tmp_path, fake),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            await fake.wait_for(lambda: "READY" in fake.log, timeout=60)
            assert fake.synced.get("global")  # no guild ids: global sync on the first start
            proc.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
            await fake.stop()
        return proc.returncode or 0, output.decode()

    code, output = asyncio.run(scenario())
    assert code == 0, output
    assert "newsbot stopped" in output
    assert "Unclosed" not in output and "Traceback" not in output
    assert TOKEN not in output


def test_sync_commands_registers_globally_and_exits(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, str, FakeDiscord]:
        fake = FakeDiscord()
        await fake.start()
        proc = await asyncio.create_subprocess_exec(
            newsbot_command(), "sync-commands", env=_env(tmp_path, fake),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(proc.communicate(), 60)
        await fake.stop()
        return proc.returncode or 0, output.decode(), fake

    code, output, fake = asyncio.run(scenario())
    assert code == 0, output
    assert "Synced the slash commands: global." in output
    assert {c["name"] for c in fake.synced["global"]} == {"ask", "reindex", "sources", "help"}
    assert "READY" not in fake.log  # HTTP only: no gateway connection for a sync
