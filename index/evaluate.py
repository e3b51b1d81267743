"""Evaluation on a question set: the metrics of ../shared/eval/score.py, computed the same way."""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel, ValidationError

from index.answer.answerer import AnswerConfig, Answerer
from index.dates import parse_date
from index.errors import NewsbotError
from index.ingest.chunking import ChunkingConfig
from index.ingest.sources import load_sources
from index.models import Answer
from index.search import snapshot as snapshots
from index.search.bm25 import BM25Params
from index.search.build import Progress, build_snapshot
from index.search.searcher import SearchConfig, SearchFilters

METRICS = (
    "gold@1", "gold@3", "gold@5", "gold@10", "mrr@10", "answer@1", "highlight@1", "answer@passages3",
)  # fmt: skip


class EvalQuestion(BaseModel):
    id: str
    question: str
    asked: str | None = None
    answers: list[str] = []
    gold_urls: list[str] = []


# How people wrap a question in a chat, for measuring that the wrapping costs nothing.
WRAPPERS = (
    "can you tell me {q}",
    "hey, {q}",
    "do you know {q}",
    "{q} please",
    "hey bot, {q}",
    "I'd like to know {q}",
)
REPHRASINGS = ("lower", "wrapped")


def rephrase(question: str, how: str | None, number: int = 0) -> str:
    """The question as a user in a hurry types it: all in lower case, or wrapped in a phrase."""
    if how == "lower":
        return question.lower()
    if how == "wrapped":
        wrapper = WRAPPERS[number % len(WRAPPERS)]
        first = question[:1].lower() if wrapper.startswith(("can", "do", "I'd")) else question[:1]
        return wrapper.format(q=first + question[1:])
    return question


class EvalError(NewsbotError):
    """The evaluation folder is missing a file or holds a malformed line."""


def read_questions(path: Path) -> list[EvalQuestion]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalError(f"Cannot read the questions file {path} ({exc.strerror or exc}).") from None
    except UnicodeDecodeError:
        raise EvalError(
            f"The questions file {path} is not UTF-8 text; save it as UTF-8 JSON lines."
        ) from None
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            questions.append(EvalQuestion.model_validate_json(line))
        except ValidationError as exc:
            raise EvalError(
                f"{path} line {number} is not a question record ({exc.errors()[0]['msg']}); "
                'each line needs at least {"id", "question"}.'
            ) from None
    return questions


def answer_each(
    answerer: Answerer, questions: Iterable[EvalQuestion], filters: SearchFilters | None = None
) -> Iterator[tuple[EvalQuestion, Answer | NewsbotError]]:
    """Answer every question as of the time it was asked; one that cannot be asked yields its
    error instead of stopping the run."""
    base = filters or SearchFilters()
    for q in questions:
        asked = parse_date(q.asked)
        try:
            yield (
                q,
                answerer.answer(
                    q.question, base.model_copy(update={"asked": asked}) if asked else base
                ),
            )
        except NewsbotError as exc:
            yield q, exc


def result_record(question: EvalQuestion, outcome: Answer | NewsbotError) -> dict[str, object]:
    """One result line, in the format score.py reads, tagged with the question's id."""
    if isinstance(outcome, NewsbotError):
        return {
            "id": question.id,
            "question": question.question,
            "answer": None,
            "passages": [],
            "error": str(outcome),
        }
    return {"id": question.id, **outcome.to_record()}


def answer_all(answerer: Answerer, questions: Iterable[EvalQuestion]) -> list[dict[str, object]]:
    return [result_record(q, outcome) for q, outcome in answer_each(answerer, questions)]


class EvalResult(BaseModel):
    metrics: dict[str, float]
    records: list[dict[str, object]]
    unanswerable: list[dict[str, object]] = []


def evaluate_folder(
    folder: Path,
    *,
    chunking: ChunkingConfig | None = None,
    bm25: BM25Params | None = None,
    answer: AnswerConfig | None = None,
    search: SearchConfig | None = None,
    unanswerable: Path | None = None,
    progress: Progress | None = None,
    rephrasing: str | None = None,
) -> EvalResult:
    """Index ``folder/articles.jsonl`` in a temporary index and answer ``folder/questions.jsonl``
    (and, if given, a file of questions the articles cannot answer, to measure refusals)."""
    articles_path, questions_path = folder / "articles.jsonl", folder / "questions.jsonl"
    for required in (articles_path, questions_path):
        if not required.is_file():
            raise EvalError(
                f"{folder} has no {required.name}; an evaluation folder needs articles.jsonl and questions.jsonl."
            )
    questions = [
        q.model_copy(update={"question": rephrase(q.question, rephrasing, n)})
        for n, q in enumerate(read_questions(questions_path))
    ]
    negatives = [
        q.model_copy(update={"question": rephrase(q.question, rephrasing, n)})
        for n, q in enumerate(read_questions(unanswerable) if unanswerable else [])
    ]
    loaded = load_sources([articles_path])
    built = build_snapshot(loaded.articles, chunking=chunking, bm25=bm25, progress=progress)
    with tempfile.TemporaryDirectory(prefix="newsbot-eval-") as tmp:
        # Round-trip through disk so the evaluation measures exactly what users load.
        snapshots.save(built, Path(tmp))
        answerer = Answerer.load(Path(tmp), search, answer)
    records = answer_all(answerer, questions)
    metrics = score(questions, records)
    negative_records = answer_all(answerer, negatives)
    if negatives:
        metrics |= refusal_rates(records, negative_records)
    return EvalResult(metrics=metrics, records=records, unanswerable=negative_records)


def score(questions: list[EvalQuestion], records: list[dict[str, object]]) -> dict[str, float]:
    """The metrics, defined exactly as ../shared/eval/README.md and score.py define them."""
    by_id = {r["id"]: r for r in records}
    totals = dict.fromkeys(METRICS, 0.0)
    for q in questions:
        record = by_id.get(q.id)
        if record is None:
            continue
        gold = {_canon(u) for u in q.gold_urls}
        passages = record.get("passages") or []
        urls = [_canon(p.get("url")) for p in passages][:10]
        rank = next((i for i, u in enumerate(urls) if u in gold), None)
        for k in (1, 3, 5, 10):
            totals[f"gold@{k}"] += rank is not None and rank < k
        totals["mrr@10"] += 0 if rank is None else 1 / (rank + 1)
        answer = record.get("answer") or {}
        totals["answer@1"] += contains_answer(answer.get("text") or "", q.answers)
        totals["highlight@1"] += _short_hit(answer.get("highlight") or "", q.answers)
        totals["answer@passages3"] += any(
            contains_answer(p.get("text"), q.answers) for p in passages[:3]
        )
    n = len(questions) or 1
    return {k: round(v / n, 3) for k, v in totals.items()}


def refusal_rates(
    records: list[dict[str, object]], unanswerable: list[dict[str, object]]
) -> dict[str, float]:
    """How often questions the news cannot answer are refused, and real ones wrongly refused."""
    refused = sum(r.get("answer") is None for r in unanswerable)
    wrongly = sum(r.get("answer") is None for r in records)
    return {
        "refused@unanswerable": round(refused / len(unanswerable), 3) if unanswerable else 0.0,
        "refused@answerable": round(wrongly / len(records), 3) if records else 0.0,
    }


def format_metrics(metrics: dict[str, float]) -> str:
    return " ".join(f"{k}={metrics[k]:.3f}" for k in METRICS)


def write_jsonl(
    path: Path, records: Iterable[dict[str, object]], dumps: Callable[[object], str] = json.dumps
) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(dumps(record) + "\n")


def _norm(text: str | None) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"[^\w\s]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def contains_answer(haystack: str | None, needles: list[str]) -> bool:
    """score.py's comparison: a gold answer in the text, normalised, on word boundaries."""
    h = f" {_norm(haystack)} "
    return any(f" {_norm(n)} " in h for n in needles if _norm(n))


def _short_hit(span: str, needles: list[str]) -> bool:
    """The bold part holds a gold answer and is short: a whole sentence in bold is no answer."""
    words = len(_norm(span).split())
    return any(
        contains_answer(span, [a]) and words <= max(6, 2 * len(_norm(a).split()))
        for a in needles
        if _norm(a)
    )


def _canon(url: str | None) -> str:
    return (url or "").split("#")[0].rstrip("/")
