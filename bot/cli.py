"""The ``newsbot`` command line. Errors from the core become one sentence here, in ``main``."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.progress import ProgressBar, RefreshBar
from bot.render_text import (
    render_answer,
    render_coverage,
    render_health,
    render_report,
    render_servers,
)
from bot.settings import ConfigError, Settings, all_sources, load_settings, reindex_with
from index.answer.answerer import Answerer, continue_conversation
from index.answer.journal import Journal
from index.answer.question import clean_question, parse_since
from index.answer.understanding import Conversation
from index.dates import parse_date
from index.errors import IndexCorruptError, NewsbotError, QuestionError
from index.evaluate import (
    REPHRASINGS,
    answer_each,
    evaluate_folder,
    read_questions,
    result_record,
    write_jsonl,
)
from index.ingest.health import source_health
from index.ingest.reindex import ReindexReport, last_reindex
from index.ingest.store import ArticleStore
from index.models import Answer
from index.search import snapshot as snapshots
from index.search.searcher import SearchFilters
from index.servers import ServerDirectory

Handler = Callable[[argparse.Namespace], int]


# What newsbot writes (the article store, the index, the command-sync state, question logs) is
# for this user only: files 0600, folders 0700, whatever umask the shell had.
PRIVATE_UMASK = 0o077


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(PRIVATE_UMASK)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()  # inside the try: a reader that went away is a BrokenPipeError here
        return code
    except NewsbotError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("newsbot: interrupted.", file=sys.stderr)
        return 130
    except sqlite3.OperationalError as exc:
        print(f"newsbot: {_store_failure(exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`newsbot ask … | head -1`): nothing more to say, and nowhere to
        # say it; stdout goes to /dev/null so the flush at exit cannot complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        # A full disk, a read-only folder, a file that vanished: say which and why, no traceback.
        where = f" {exc.filename}" if exc.filename else ""
        print(f"newsbot: cannot read or write{where} ({exc.strerror or exc}); free space or fix "
              "the permissions, then run the command again.", file=sys.stderr)  # fmt: skip
        return 1


def _store_failure(exc: sqlite3.OperationalError) -> str:
    """SQLite's own words, with the advice that fits them: a lock passes, a full disk does not."""
    if "locked" in str(exc) or "busy" in str(exc):
        return (
            f"the article store is locked by another program ({exc}); wait for it to finish "
            "and run the command again."
        )
    return (
        f"the article store cannot be written ({exc}); free disk space or fix the store "
        "folder's permissions, then run the command again."
    )


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="settings file (default: $NEWSBOT_CONFIG, ./newsbot.toml, or built-in defaults)",
    )
    common.add_argument(
        "--index",
        type=Path,
        metavar="DIR",
        help="index folder (default: [index] path of the config)",
    )
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="Answer questions about the news from an index of articles, with sources.",
    )
    parser.add_argument("--version", action="version", version=f"newsbot {_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def command(
        name: str, handler: Handler, summary: str, description: str
    ) -> argparse.ArgumentParser:
        p = commands.add_parser(name, parents=[common], help=summary, description=description)
        p.set_defaults(handler=handler)
        return p

    command(
        "reindex",
        cmd_reindex,
        "refresh the news and rebuild the index",
        "Fetch what is new from the configured sources (the bundled sample news when none is configured) and rebuild the index.",
    ).add_argument("--json", action="store_true", help="print the report as one JSON object")
    command(
        "servers",
        cmd_servers,
        "list the Discord servers with their own sources",
        "List the Discord servers the bot is or was in, with the sources each added from Discord and the articles each holds.",
    )
    command(
        "sources",
        cmd_sources,
        "show each source's health",
        "Show each configured source: articles held and, for feeds and pages, the last success, consecutive failures and last error.",
    )
    p = command(
        "ask",
        cmd_ask,
        "answer a question from the indexed news",
        "Answer a question with the sentence that answers it and its sources.",
    )
    p.add_argument("question", nargs="?", help='the question, e.g. "How many GPUs will Meta have?"')
    _question_options(p)
    p.add_argument(
        "--questions",
        type=Path,
        metavar="FILE.jsonl",
        help='answer every {"id", "question"} line of a file; one output line each',
    )
    p = command(
        "chat",
        cmd_chat,
        "a conversation: one question per line, follow-ups understood",
        "Read one question per line from standard input and answer each in the light of the ones before "
        '("and how much did that cost?"). A blank line starts a new conversation.',
    )
    _question_options(p)
    p = command(
        "eval",
        cmd_eval,
        "measure retrieval and answer quality on a question set",
        "Index DIR/articles.jsonl in a temporary index, answer DIR/questions.jsonl (each as of its asked date) and print: "
        "gold@k, the share of questions with a passage of an answering article among the first k; mrr@10, the mean of "
        "1/rank of the first such passage; answer@1, the share whose answer sentence holds an expected answer; "
        "highlight@1, the share whose bold span holds it and is short; answer@passages3, the share with an expected "
        "answer in the first three passages.",
    )
    p.add_argument(
        "folder", type=Path, metavar="DIR", help="folder with articles.jsonl and questions.jsonl"
    )
    p.add_argument(
        "--unanswerable",
        type=Path,
        metavar="FILE.jsonl",
        help="questions the articles cannot answer: prints how often they are refused, and how often real ones are",
    )
    p.add_argument(
        "--rephrase",
        choices=REPHRASINGS,
        help="ask every question in lower case, or wrapped in a chat phrase ('can you tell me …')",
    )
    p.add_argument(
        "--details",
        type=Path,
        metavar="FILE",
        help="write each question's answer and passages as JSONL, one line each, for inspection",
    )
    p = command(
        "status",
        cmd_status,
        "the index's age and size, the last reindex and each source's health",
        "Print the index's age and size, how the last reindex ended and each source's health. Exits 1 when there "
        "is no index, when it is older than [refresh] stale_after_hours, or when every feed is failing, so "
        "monitoring can call it.",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="also check every index file against its checksum (reads the whole index)",
    )
    p = command(
        "report",
        cmd_report,
        "the questions most often refused and answers voted down",
        "Show, from the answer journal the Discord bot keeps, the questions most often refused and the "
        "answers most often voted down over the last days, grouped by wording: what sources to add.",
    )
    p.add_argument("--days", type=int, default=7, help="how far back to look (default 7)")
    p = command(
        "run",
        cmd_run,
        "start the Discord bot",
        "Start the Discord bot. The token is read from the environment variable named by [discord] token_env (DISCORD_TOKEN by default).",
    )
    p.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="overrides [logging] level (INFO logs one line per question and per reindex)",
    )
    command(
        "sync-commands",
        cmd_sync_commands,
        "register the slash commands with Discord",
        "Register the slash commands: with the guilds in [discord] guild_ids, or globally when there are none.",
    )
    return parser  # fmt: skip


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsbot")
    except PackageNotFoundError:
        return "(not installed)"


def cmd_reindex(args: argparse.Namespace) -> int:
    """Exit 0 when every source worked, 2 when some had problems (listed), 1 when none worked."""
    settings = load_settings(args.config, args.index)
    report = _reindex(settings)
    print(report.model_dump_json() if args.json else render_report(report))
    if report.failed_sources and not report.working_sources:
        return 1
    return 2 if report.failed_sources else 0


def cmd_status(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, args.index)
    if args.verify:
        damaged = snapshots.verify(settings.index.path)
        if damaged:
            raise IndexCorruptError(
                f"The index at {settings.index.path} is damaged ({', '.join(damaged)} do not match their "
                "checksums); run `newsbot reindex` to rebuild it from the article store."
            )
    snap = snapshots.load(settings.index.path)
    manifest = snap.manifest
    age_hours = (datetime.now(UTC) - manifest.created_at).total_seconds() / 3600
    health = source_health(all_sources(settings), settings.store_path, settings.fetch)
    last = last_reindex(settings.index.path)
    print(
        f"Index: {settings.index.path}: {manifest.counts.articles:,} articles, "
        f"{manifest.counts.passages:,} passages, built {manifest.created_at:%Y-%m-%d %H:%M} UTC "
        f"({age_hours:.1f} h ago)"
    )
    if last is None:
        print("Last reindex: not recorded")
    elif last.error:
        print(f"Last reindex: {last.at:%Y-%m-%d %H:%M} UTC, failed: {last.error}")
    else:
        failed = f", problems with {', '.join(last.failed_sources)}" if last.failed_sources else ""
        print(
            f"Last reindex: {last.at:%Y-%m-%d %H:%M} UTC, {last.articles:,} articles in {last.seconds:g} s{failed}"
        )
    print(render_health(health))
    feeds = [h for h in health if h.kind != "path"]
    problems = []
    if age_hours > settings.refresh.stale_after_hours:
        problems.append(f"the index is older than {settings.refresh.stale_after_hours:g} h")
    if feeds and all(h.consecutive_failures > 0 for h in feeds):
        problems.append("every feed is failing")
    if problems:
        print(f"Unhealthy: {'; '.join(problems)}.", file=sys.stderr)
        return 1
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, args.index)
    if not 1 <= args.days <= 3650:
        raise ConfigError(
            f"--days {args.days} is out of range; give a number of days from 1 to 3650."
        )
    journal = Journal(settings.store_path, retention_days=settings.feedback.retention_days)
    try:
        journal.prune()
        print(render_coverage(journal.report(args.days)))
    finally:
        journal.close()
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, args.index)
    print(render_health(source_health(all_sources(settings), settings.store_path, settings.fetch)))
    return 0


def cmd_servers(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, args.index)
    if not settings.store_path.exists():
        print("No Discord server has used this bot yet.")
        return 0
    directory = ServerDirectory(settings.store_path, settings.servers.grace_days)
    try:
        servers = directory.servers()
    finally:
        directory.close()
    with ArticleStore(settings.store_path) as store:
        held = store.count_by_origin()
    print(render_servers(servers, held, settings.servers.grace_days))
    return 0


def _question_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print each answer as JSON")
    p.add_argument(
        "--since",
        metavar="WHEN",
        help="only news from then on: 7d, 24h, 2w or a date such as 2024-01-31",
    )
    p.add_argument(
        "--source", metavar="OUTLET", help="only news from this outlet or site, e.g. cnn.com"
    )
    p.add_argument(
        "--as-of", metavar="DATE", help="answer as if asked on DATE: later news is left out"
    )


def _answerer(settings: Settings, args: argparse.Namespace) -> Answerer:
    """The answerer over the configured index, built first when there is none yet."""
    # An index the user named with --index is theirs to build; the configured one has its sources.
    reason = snapshots.build_needed(settings.index.path) if args.index is None else None
    if reason:
        print(reason, file=sys.stderr)
        _reindex(settings)
    return Answerer.load(settings.index.path, settings.search, settings.answer)


def cmd_chat(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, args.index)
    answerer = _answerer(settings, args)
    filters = _filters(args)
    interactive = sys.stdin.isatty()
    conversation = Conversation()
    if interactive:
        print("Ask about the news; a blank line starts over, Ctrl-D ends.", file=sys.stderr)
    while True:
        if interactive:
            print("> ", end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line:
            return 0
        text = line.strip()
        if not text:
            conversation = Conversation()
            if interactive:
                print("(new conversation)", file=sys.stderr)
            continue
        try:
            answer = answerer.answer(text, filters, conversation)
        except NewsbotError as exc:
            print(f"newsbot: {exc}", file=sys.stderr, flush=True)
            continue
        conversation = continue_conversation(conversation, answer, filters)
        if args.json:
            print(json.dumps(answer.to_record(), ensure_ascii=False), flush=True)
        else:
            print(render_answer(answer, color=sys.stdout.isatty()) + "\n", flush=True)


def cmd_ask(args: argparse.Namespace) -> int:
    if args.question is None and args.questions is None:
        raise NewsbotError(
            'Give a question, e.g. newsbot ask "How many GPUs will Meta have?", or --questions FILE.jsonl.'
        )
    settings = load_settings(args.config, args.index)
    if args.question is not None:
        clean_question(args.question, settings.answer.max_question_chars)  # fail before any build
    answerer = _answerer(settings, args)
    if args.questions is not None:
        for question, outcome in answer_each(
            answerer, read_questions(args.questions), _filters(args)
        ):
            if args.json:
                print(json.dumps(result_record(question, outcome), ensure_ascii=False), flush=True)
            else:
                print(
                    f"[{question.id}] {question.question}\n{_outcome_text(outcome)}\n", flush=True
                )
        return 0
    answer = answerer.answer(args.question, _filters(args))
    if args.json:
        print(json.dumps(answer.to_record(), ensure_ascii=False, indent=2))
    else:
        print(render_answer(answer, color=sys.stdout.isatty()))
    return 0


def _filters(args: argparse.Namespace) -> SearchFilters:
    asked = parse_date(args.as_of) if args.as_of else None
    if args.as_of and asked is None:
        raise QuestionError(f"--as-of must be a date such as 2024-01-31, not {args.as_of!r}.")
    since = parse_since(args.since) if args.since else None
    return SearchFilters(asked=asked, since=since, source=args.source)


def cmd_eval(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    result = evaluate_folder(
        args.folder,
        chunking=settings.chunking,
        bm25=settings.bm25,
        answer=settings.answer,
        search=settings.search,
        unanswerable=args.unanswerable,
        progress=ProgressBar("Indexing"),
        rephrasing=args.rephrase,
    )
    if args.details is not None:
        write_jsonl(
            args.details,
            result.records + result.unanswerable,
            lambda r: json.dumps(r, ensure_ascii=False),
        )
    print(f"{'metric':<22}value")
    for name, value in result.metrics.items():
        print(f"{name:<22}{value:.3f}")
    print(f"{'questions':<22}{len(result.records)}")
    if result.unanswerable:
        print(f"{'unanswerable':<22}{len(result.unanswerable)}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bot import launcher  # imports discord; the other commands do not need it

    return launcher.run(load_settings(args.config, args.index), args.log_level)


def cmd_sync_commands(args: argparse.Namespace) -> int:
    from bot import launcher

    synced = launcher.sync_commands(load_settings(args.config, args.index))
    print(f"Synced the slash commands: {', '.join(synced)}.")
    return 0


def _reindex(settings: Settings) -> ReindexReport:
    return reindex_with(settings, RefreshBar())


def _outcome_text(outcome: Answer | NewsbotError) -> str:
    if isinstance(outcome, NewsbotError):
        return f"newsbot: {outcome}"
    return render_answer(outcome, color=sys.stdout.isatty())


if __name__ == "__main__":
    sys.exit(main())
