"""Follow-ups, buttons, autocomplete, /latest, /report and quiet answer channels, through the real
discord.py client against the fake Discord on 127.0.0.1 (see test_discord_e2e.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from index.answer.journal import Journal
from index.errors import IndexMissingError
from tests.bot.fake_discord import ADMIN_ROLE_ID, BOT_ID, OTHER_CHANNEL_ID, FakeDiscord
from tests.bot.test_discord_e2e import QUESTION, Harness, make_settings, run_async, running
from tests.helpers import discord_shows

READER = {"id": "5001", "username": "reader", "discriminator": "0", "global_name": "reader", "avatar": None}  # fmt: skip
OTHER = {"id": "5002", "username": "other", "discriminator": "0", "global_name": "other", "avatar": None}  # fmt: skip


def reply_to(fake: FakeDiscord, message_id: str) -> dict[str, Any] | None:
    """The bot's message that replies to ``message_id``, if it has sent it."""
    return next(
        (
            m
            for m in fake.messages.values()
            if m["author"]["id"] == BOT_ID
            and (m.get("message_reference") or {}).get("message_id") == message_id
        ),
        None,
    )


async def bot_reply(fake: FakeDiscord, message_id: str) -> dict[str, Any]:
    await fake.wait_for(lambda: reply_to(fake, message_id) is not None)
    reply = reply_to(fake, message_id)
    assert reply is not None
    return reply


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """The message's buttons: action -> custom id."""
    ids = [c["custom_id"] for row in message["components"] for c in row["components"]]
    return {i.split(":")[1]: i for i in ids}


async def ask_slash(h: Harness, options: dict[str, str]) -> dict[str, Any]:
    """/ask, and the answer message it ends with."""
    token = await h.fake.slash("ask", options)
    await h.fake.wait_for(
        lambda: any(s.route.startswith("followup") for s in h.fake.replies_to(token))
    )
    return next(
        m
        for m in reversed(list(h.fake.messages.values()))
        if m["author"]["id"] == BOT_ID and m["components"]
    )


async def press(h: Harness, message: dict[str, Any], action: str, **who: Any) -> dict[str, Any]:
    token = await h.fake.click(message["id"], buttons(message)[action], **who)
    await h.fake.wait_for(lambda: bool(h.fake.replies_to(token)))
    [reply] = h.fake.replies_to(token)
    assert reply.body["flags"] & 64, "a button's answer is private"
    return reply.body


def test_a_reply_to_an_answer_is_a_follow_up_even_after_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    fake = FakeDiscord()

    async def scenario() -> None:
        async with running(settings, monkeypatch, fake=fake) as h:
            asked = await h.fake.say(
                f"<@{BOT_ID}> What will NASA do about the Mars samples?", mention_bot=True
            )
            answer = await bot_reply(h.fake, asked)
            assert set(buttons(answer)) == {"up", "down", "more", "why", "thread"}
        # A new bot process, the same Discord: nothing of the conversation was in memory.
        async with running(settings, monkeypatch, fake=fake) as h:
            follow = await h.fake.say("and how much did that cost?", reply_to=answer["id"])
            reply = await bot_reply(h.fake, follow)
            shown = discord_shows(reply["embeds"][0]["description"])
            assert "$11 billion" in shown
            assert "Follow-up, read as" in shown
            # Not a reply: the same words stand alone and are not about NASA.
            alone = await h.fake.say(f"<@{BOT_ID}> and how much did that cost?", mention_bot=True)
            assert "$11 billion" not in str((await bot_reply(h.fake, alone))["embeds"])

    run_async(scenario)


def test_votes_are_stored_changed_by_a_second_press_and_buttons_survive_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    fake = FakeDiscord()

    async def scenario() -> None:
        async with running(settings, monkeypatch, fake=fake) as h:
            answer = await ask_slash(h, {"question": QUESTION})
            assert (await press(h, answer, "up"))["content"] == "Thanks, noted."
            assert (await press(h, answer, "down"))["content"] == "Changed your vote to 👎."
            await press(h, answer, "down", author=OTHER)
        key = buttons(answer)["up"].rsplit(":", 1)[1]
        journal = Journal(settings.store_path)
        assert journal.votes(key) == {-1: 2}
        journal.close()
        async with running(settings, monkeypatch, fake=fake) as h:
            more = (await press(h, answer, "more"))["embeds"][0]
            lines = [line for line in more["description"].splitlines() if line[:1].isdigit()]
            assert 3 <= len(lines) <= 10
            assert lines[0].startswith("1. [Meta aims for a stockpile")
            why = (await press(h, answer, "why"))["embeds"][0]
            assert "**GPUs**" in why["description"] and "**Meta**" in why["description"]
            report = await h.slash_replies("report", {}, roles=[ADMIN_ROLE_ID])
            voted = report[0].body["embeds"][0]["fields"][1]["value"]
            assert voted == f"2 × {QUESTION}"

    run_async(scenario)


def test_a_follow_up_thread_takes_every_message_of_its_asker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Answer channels ask for the Message Content intent, which a thread without mentions needs.
    settings = make_settings(tmp_path, answer_channels=[int(OTHER_CHANNEL_ID)])

    async def scenario() -> None:
        async with running(settings, monkeypatch) as h:
            answer = await ask_slash(h, {"question": "What will NASA do about the Mars samples?"})
            opened = await press(h, answer, "thread")
            assert "Ask your follow-ups in" in opened["content"]
            assert answer["id"] in h.fake.threads
            follow = await h.fake.say("and how much did that cost?", channel_id=answer["id"])
            reply = await bot_reply(h.fake, follow)
            assert "$11 billion" in discord_shows(reply["embeds"][0]["description"])
            assert "thread" not in buttons(reply)  # already in one
            # Someone else chatting in the thread is not taken as a question.
            chatter = await h.fake.say(
                "what a mission, how exciting", channel_id=answer["id"], author=OTHER
            )
            second = await h.fake.say("and when will they return?", channel_id=answer["id"])
            await bot_reply(h.fake, second)
            assert reply_to(h.fake, chatter) is None

    run_async(scenario)


def test_answer_channels_ignore_chatter_and_refuse_in_one_short_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path, answer_channels=[int(OTHER_CHANNEL_ID)])

    async def scenario() -> None:
        async with running(settings, monkeypatch) as h:
            thanks = await h.fake.say("thanks!", channel_id=OTHER_CHANNEL_ID)
            nice = await h.fake.say("lol nice", channel_id=OTHER_CHANNEL_ID)
            miss = await h.fake.say("What is the capital of Mars?", channel_id=OTHER_CHANNEL_ID)
            refusal = await bot_reply(h.fake, miss)
            assert refusal["embeds"] == [] and refusal["content"].startswith("I found nothing")
            hit = await h.fake.say("how many gpus will meta have", channel_id=OTHER_CHANNEL_ID)
            assert (
                "**almost 600,000 GPUs**"
                in (await bot_reply(h.fake, hit))["embeds"][0]["description"]
            )
            assert reply_to(h.fake, thanks) is None and reply_to(h.fake, nice) is None

    run_async(scenario)


def test_a_mention_in_the_cooldown_gets_a_reaction_not_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with running(make_settings(tmp_path, cooldown_seconds=120), monkeypatch) as h:
            first = await h.fake.say(f"<@{BOT_ID}> {QUESTION}", mention_bot=True)
            await bot_reply(h.fake, first)
            again = await h.fake.say(f"<@{BOT_ID}> {QUESTION}", mention_bot=True)
            await h.fake.wait_for(lambda: (again, "⏳") in h.fake.reactions)
            assert reply_to(h.fake, again) is None

    run_async(scenario)


def test_a_late_error_replaces_the_thinking_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with running(make_settings(tmp_path), monkeypatch) as h:

            def fails(*args: Any, **kwargs: Any) -> None:  # the index vanished after the checks
                raise IndexMissingError(
                    "The news index is not loaded yet; an admin can build it with /reindex."
                )

            monkeypatch.setattr(h.bot.service, "answer", fails)
            token = await h.fake.slash("ask", {"question": QUESTION})
            await h.fake.wait_for(
                lambda: any(s.route.startswith("edit") for s in h.fake.replies_to(token))
            )
            routes = [s.route.split()[0] for s in h.fake.replies_to(token)]
            assert routes == ["callback", "edit"]  # "thinking…", then replaced; no second message
            assert h.fake.acks[token][0]["type"] == 5
            edit = h.fake.replies_to(token)[1].body
            assert edit["content"].startswith("The news index is not loaded yet")

    run_async(scenario)


def test_autocomplete_offers_outlets_and_periods_and_latest_gives_a_brief(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with running(make_settings(tmp_path), monkeypatch) as h:
            outlets = await h.fake.autocomplete("ask", {"question": "x", "source": "ci"}, "source")
            assert [c["value"] for c in outlets] == ["The Circuit"]
            every = await h.fake.autocomplete("latest", {"source": ""}, "source")
            assert len(every) >= 5 and every[0]["value"] == "news.example"
            periods = await h.fake.autocomplete("ask", {"question": "x", "since": "7"}, "since")
            assert [c["value"] for c in periods] == ["7d"]
            token = await h.fake.slash("latest", {"topic": "Meta"})
            await h.fake.wait_for(
                lambda: any(s.route.startswith("followup") for s in h.fake.replies_to(token))
            )
            [brief] = [s for s in h.fake.replies_to(token) if s.route.startswith("followup")]
            embed = brief.body["embeds"][0]
            assert embed["title"] == "Latest on Meta" and 3 <= len(embed["fields"]) <= 5
            assert set(buttons(brief.body)) == {"up", "down", "more", "thread"}  # no "why"

    run_async(scenario)


def test_questions_that_cannot_be_searched_and_admin_reports_are_private_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with running(make_settings(tmp_path), monkeypatch) as h:
            [vague] = await h.slash_replies("ask", {"question": "what is it?"})
            assert vague.route.startswith("callback") and vague.body["flags"] & 64
            assert h.fake.acks[h.fake.sent[-1].route.split()[1]][0]["type"] == 4  # never deferred
            [bad_since] = await h.slash_replies("ask", {"question": QUESTION, "since": "soonish"})
            assert bad_since.route.startswith("callback") and bad_since.body["flags"] & 64
            assert "soonish" in bad_since.body["content"]
            [unknown] = await h.slash_replies("ask", {"question": QUESTION, "source": "Teh Circut"})
            assert unknown.route.startswith("callback") and unknown.body["flags"] & 64
            assert "nearest outlets are The Circuit" in unknown.body["content"]
            [denied] = await h.slash_replies("report", {})
            assert denied.body["flags"] & 64 and "Manage Server" in denied.body["content"]

    run_async(scenario)
