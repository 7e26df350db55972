"""``modelguard import inspect LOG...``: an Inspect AI log's samples as a suite whose cases
carry the logged answers as their ``baseline``, so ``pytest --models candidate`` asks only
the candidate and grades both the same way.

A sample is a case: its ``input`` (text, or chat messages with text content) the prompt,
its ``target`` the expected answer, the answer, usage and model of its first epoch that
answered the baseline. Inspect's scorers map where a built-in grader does the same job —
``includes`` → ``contains: {any: targets}`` (case-insensitive, as Inspect's default),
``exact`` → ``equals`` (whitespace stripped), ``match`` → a ``regex`` for the target at the
end of the answer (Inspect's ``location="end"`` default, approximately); any other scorer
(model-graded, custom) leaves the case on ``similarity: {against: baseline}`` and is
listed. Samples a suite cannot hold (images, tool calls in the input, no input) are left
out and counted; nothing is dropped silently.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import ScoreFileError
from ..suite import dump_yaml, indent, write_suite
from .inspect_log import InspectLog, sample_id
from .read import load_inspect_log

DEFAULT_GRADER = {"similarity": {"against": "baseline"}}
_TEXT_ROLES = ("system", "user", "assistant")


@dataclass
class ImportedSuite:
    """What the import wrote and what it could not map, counted per reason."""

    path: Path
    cases: int = 0
    graded_by: Counter[str] = field(default_factory=Counter)
    unmapped_scorers: Counter[str] = field(default_factory=Counter)
    left_out: Counter[str] = field(default_factory=Counter)
    first: dict[str, str] = field(default_factory=dict)

    def leave_out(self, reason: str, where: str) -> None:
        self.left_out[reason] += 1
        self.first.setdefault(reason, where)


def import_inspect(
    logs: Iterable[Path], out: Path, *, name: str | None, overwrite: bool
) -> ImportedSuite:
    """Write the suite of every sample of ``logs`` to ``out``; ScoreFileError for a bad log,
    ExportError when ``out`` cannot be written."""
    if not out.name.endswith((".modelguard.yaml", ".modelguard.yml")):
        raise ScoreFileError(f"{out}: the suite's file name must end with .modelguard.yaml")
    if out.exists() and not overwrite:
        raise ScoreFileError(f"{out}: exists (pass --force to replace it)")
    loaded = [load_inspect_log(path) for path in logs]
    done = ImportedSuite(out)
    cases: list[dict[str, Any]] = []
    seen: set[str] = set()
    for log in loaded:
        for where, sample in _in_dataset_order(log):
            if sample_id(log.path, where, sample) in seen:  # a later epoch: one case per id
                continue
            case = _case(log, where, sample, done)
            if case is None:
                continue
            seen.add(case["id"])
            cases.append(case)
    if not cases:
        raise ScoreFileError(f"{', '.join(str(p) for p in logs)}: no sample could become a case")
    done.cases = len(cases)
    write_suite(out, _document(loaded, out, cases, name))
    return done


def _case(
    log: InspectLog, where: str, sample: dict[str, Any], done: ImportedSuite
) -> dict[str, Any] | None:
    at = f"{log.path}: {where}"
    ident = sample_id(log.path, where, sample)
    prompt = _prompt(sample.get("input"))
    if isinstance(prompt, str) and prompt.startswith("!"):
        done.leave_out(prompt[1:], at)
        return None
    found = sample.get("output")
    output: dict[str, Any] = found if isinstance(found, dict) else {}
    answer = output.get("completion")
    if sample.get("error") or not isinstance(answer, str):
        done.leave_out("no logged answer (the sample errored)", at)
        return None
    case: dict[str, Any] = {"id": ident}
    case.update({"prompt": prompt} if isinstance(prompt, str) else {"messages": prompt})
    targets = _targets(sample.get("target"))
    if targets:
        case["expected"] = targets[0] if len(targets) == 1 else targets
    graders = _graders(sample, targets, done)
    if graders:
        case["graders"] = graders
    case["baseline"] = _baseline(log, output, answer)
    return case


def _in_dataset_order(log: InspectLog) -> list[tuple[str, dict[str, Any]]]:
    """The samples in the dataset's order (``eval.dataset.sample_ids``), epochs in order;
    an ``.eval`` archive lists them in the order they finished."""
    dataset = log.evaluation.get("dataset")
    ids = dataset.get("sample_ids") if isinstance(dataset, dict) else None
    rank = {str(i): n for n, i in enumerate(ids)} if isinstance(ids, list) else {}
    return sorted(
        log.samples,
        key=lambda item: (rank.get(str(item[1].get("id")), len(rank)), _epoch(item[1])),
    )


def _epoch(sample: dict[str, Any]) -> int:
    epoch = sample.get("epoch")
    return epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else 1


def _prompt(value: Any) -> str | list[dict[str, str]]:
    """The case's prompt text or messages; a reason starting with ``!`` when it has none."""
    if isinstance(value, str):
        return value if value.strip() else "!an empty input"
    if not isinstance(value, list) or not value:
        return "!an input that is neither text nor chat messages"
    messages = []
    for message in value:
        role = message.get("role") if isinstance(message, dict) else None
        if role not in _TEXT_ROLES or message.get("tool_calls"):
            return f"!a message of role {role!r} (tools are not imported)"
        text = _text(message.get("content"))
        if text is None:
            return "!non-text content (images, audio or files)"
        messages.append({"role": str(role), "content": text})
    return messages


def _text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(p, dict) and p.get("type") in ("text", "reasoning") for p in content
    ):
        return "".join(str(p.get("text") or "") for p in content if p.get("type") == "text")
    return None


def _targets(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v) for v in items if isinstance(v, str | int | float) and str(v).strip()]


def _graders(sample: dict[str, Any], targets: list[str], done: ImportedSuite) -> list[Any]:
    found = sample.get("scores")
    scores: dict[str, Any] = found if isinstance(found, dict) else {}
    graders: list[Any] = []
    for scorer in sorted(scores):
        grader = _grader_for(scorer, targets)
        if grader is None:
            done.unmapped_scorers[scorer] += 1
        else:
            done.graded_by[f"{scorer} → {next(iter(grader))}"] += 1
            graders.append(grader)
    return graders


def _grader_for(scorer: str, targets: list[str]) -> dict[str, Any] | None:
    if not targets:
        return None
    if scorer == "includes":
        return {"contains": {"any": targets}}
    if scorer == "exact":
        return {"equals": {"normalize": ["strip"]}}
    if scorer == "match":
        ends = "|".join(re.escape(t.strip()) for t in targets)
        return {"regex": {"pattern": f"(?i)(?:^|\\W)(?:{ends})\\W*$"}}
    return None


def _baseline(log: InspectLog, output: dict[str, Any], answer: str) -> dict[str, Any]:
    baseline: dict[str, Any] = {"output": answer}
    found = output.get("usage")
    usage: dict[str, Any] = found if isinstance(found, dict) else {}
    for ours, theirs in (("input_tokens", "input_tokens"), ("output_tokens", "output_tokens")):
        value = usage.get(theirs)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10**12:
            baseline[ours] = value
    seconds = output.get("time")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and 0 <= seconds < 1e7:
        baseline["latency_s"] = round(float(seconds), 4)
    baseline["model"] = f"inspect:{log.model}"
    return baseline


def _document(
    logs: list[InspectLog], out: Path, cases: list[dict[str, Any]], name: str | None
) -> str:
    tasks = sorted({log.task for log in logs if log.task})
    models = sorted({log.model for log in logs})
    suite = name or (tasks[0] if len(tasks) == 1 else out.name.split(".modelguard.")[0])
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    header = (
        f"# Imported by `modelguard import inspect` from {', '.join(p.path.name for p in logs)}"
        f" on {when}:\n# {len(cases)} cases; each `baseline` is the answer Inspect logged"
        f" ({', '.join(models)}), with its usage.\n"
    )
    head = dump_yaml({"suite": suite, "description": f"Inspect AI task {', '.join(tasks) or '?'}"})
    body = "defaults:\n" + indent(dump_yaml({"graders": [DEFAULT_GRADER]}))
    return header + head + body + dump_yaml({"cases": cases})
