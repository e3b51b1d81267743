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

from tests.bot.fake_discord import FakeDiscord, user
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


async def _stop(proc: asyncio.subprocess.Process) -> str:
    """SIGTERM, as a service manager stops the bot; its whole output."""
    proc.send_signal(signal.SIGTERM)
    output, _ = await asyncio.wait_for(proc.communicate(), 30)
    return output.decode()


async def _cleanup(proc: asyncio.subprocess.Process, fake: FakeDiscord) -> None:
    if proc.returncode is None:
        proc.kill()
    await fake.stop()


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
            output = await _stop(proc)
        finally:
            await _cleanup(proc, fake)
        return proc.returncode or 0, output

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
    assert {c["name"] for c in fake.synced["global"]} == {
        "ask", "latest", "reindex", "report", "sources", "settings", "help",
    }  # fmt: skip
    assert "READY" not in fake.log  # HTTP only: no gateway connection for a sync


def test_after_a_full_run_the_token_is_nowhere_and_files_are_private(tmp_path: Path) -> None:
    """Ask, reindex, a failing command and a stop; then grep every file and the whole log."""
    MANAGE_GUILD = 1 << 5

    async def scenario() -> tuple[int, str, list[str]]:
        fake = FakeDiscord()
        await fake.start()
        env = _env(tmp_path, fake)
        proc = await asyncio.create_subprocess_exec(
            "sh", "-c", f"umask 022 && exec {newsbot_command()} run", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        bodies = []
        try:
            await fake.wait_for(lambda: "READY" in fake.log, timeout=60)
            for number, (name, options, permissions, expected) in enumerate(
                [
                    ("ask", {"question": "How many GPUs will Meta have?"}, 0, "600,000"),
                    ("ask", {"question": "GPUs?", "since": "not-a-date"}, 0, "not-a-date"),
                    ("reindex", {}, MANAGE_GUILD, "Reindex complete"),
                ]
            ):
                # A different member each time, so the per-user cooldown does not step in.
                author = user(7000 + number, f"member{number}")
                token = await fake.slash(name, options, permissions=permissions, author=author)
                try:
                    await fake.wait_for(
                        lambda t=token, e=expected: any(
                            e in str(s.body) for s in fake.replies_to(t)
                        ),
                        timeout=60,
                    )
                except TimeoutError:
                    raise AssertionError(
                        f"{name}: {[s.body for s in fake.replies_to(token)]}"
                    ) from None
                bodies += [str(s.body) for s in fake.replies_to(token)]
            output = await _stop(proc)
        finally:
            await _cleanup(proc, fake)
        return proc.returncode or 0, output, bodies

    code, output, bodies = asyncio.run(scenario())
    assert code == 0, output
    assert TOKEN not in output and all(TOKEN not in b for b in bodies)
    home = tmp_path / "home"
    written = [p for p in home.rglob("*")]
    assert any(p.name.endswith(".sqlite3") for p in written)
    assert any(p.name == "manifest.json" for p in written)
    for path in written:
        mode = path.stat().st_mode & 0o777
        if path.is_dir():
            assert mode == 0o700, f"{path} is {oct(mode)}"
        else:
            assert mode == 0o600, f"{path} is {oct(mode)}"
            assert TOKEN.encode() not in path.read_bytes(), path
