"""``modelguard import dataset FILE``: Pydantic Evals, LangSmith and Langfuse datasets → a suite.

- **Pydantic Evals** (YAML or JSON written by ``Dataset.to_file``): each case's ``name``,
  ``inputs``, ``expected_output`` and ``evaluators`` (the dataset's ``evaluators`` apply to
  every case). ``EqualsExpected`` and ``Equals`` → ``equals``, ``Contains`` → ``contains``
  (case-sensitive unless told), ``LLMJudge`` → a pass/fail ``llm_judge`` rubric;
  ``IsInstance: str`` always holds for a text answer and is dropped with a note; the rest
  (``MaxDuration``, ``GEval``, ``HasMatchingSpan``, custom evaluators) are counted.
- **LangSmith** example exports (JSONL or a JSON list of ``{inputs, outputs}``) and
  **Langfuse** dataset items (``{input, expectedOutput}``): the reference output becomes
  the case's ``expected``, graded by ``similarity`` to it, a starting point to edit.

Inputs become the prompt: a string as it is, chat ``messages`` as messages, an object
with one text field as that text, any other object as ``key: value`` lines (noted).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import SuiteError
from ..suite import dump_yaml as dump
from .findings import Findings, NothingImported
from .nunjucks import text_of
from .promptfoo_providers import judge_model
from .sources import Files

MAX_CASES = 100_000
ROLES = {"system": "system", "user": "user", "assistant": "assistant", "human": "user",
         "ai": "assistant", "developer": "system"}  # fmt: skip
_ID = re.compile(r"[^\w.-]+")
_KEY = re.compile(r"[A-Za-z_][\w-]*")
_PER_KEY = (
    "EqualsExpected on an object: one json_field per key (the answer must be JSON; "
    "each key scores on its own, where Pydantic Evals needs all)"
)
_SIMILARITY = {"similarity": {"against": "expected"}}


@dataclass
class Dataset:
    """An imported dataset, ready to write."""

    name: str
    format: str
    suite: str
    cases: int
    findings: Findings = field(default_factory=Findings)


def sniff(path: Path, files: Files) -> str:
    """The dataset's format from its suffix and first record."""
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "pydantic-evals"
    first: Any = None
    if suffix == ".json":
        data = files.json(path, files.shown(path))
        if isinstance(data, Mapping) and "cases" in data:
            return "pydantic-evals"
        first = data[0] if isinstance(data, list) and data else None
    else:
        first = next((record for _, record in files.jsonl(path, files.shown(path))), None)
    if isinstance(first, Mapping):
        if "inputs" in first:
            return "langsmith"
        if "input" in first or "expectedOutput" in first:
            return "langfuse"
    raise SuiteError(
        f"{files.shown(path)}: cannot tell the dataset's format; "
        "pass --format pydantic-evals|langsmith|langfuse"
    )


def import_dataset(path: Path, form: str | None, name: str | None) -> Dataset:
    files = Files(path.parent)
    form = form or sniff(path, files)
    findings = Findings()
    reader = _pydantic if form == "pydantic-evals" else _records
    cases = list(reader(path, files, form, findings))
    shown = files.shown(path)
    if not cases:
        raise NothingImported(f"{shown}: no case could be imported (see above)", findings)
    suite_name = name or _ID.sub("-", path.name.split(".")[0]).strip("-") or "dataset"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    header = f"# Imported by `modelguard import dataset` from {shown} ({form}) on {when}.\n"
    if form != "pydantic-evals":
        header += (
            "# Each case's `expected` is the dataset's reference output, graded by similarity\n"
            "# (token F1, passing at 0.8): a starting point; equals or llm_judge may fit better.\n"
        )
    text = header + dump({"suite": suite_name}) + dump({"cases": cases})
    return Dataset(suite_name, form, text, len(cases), findings)


def _unique(base: str, seen: dict[str, int]) -> str:
    base = _ID.sub("-", base).strip("-.")[:60] or "case"
    seen[base] = seen.get(base, 0) + 1
    return base if seen[base] == 1 else f"{base}-{seen[base]}"


def _prompt(value: Any, where: str, findings: Findings) -> dict[str, Any] | None:
    """``{prompt: ...}`` or ``{messages: [...]}`` from a dataset's inputs; None if it cannot."""
    if isinstance(value, str):
        return {"prompt": value} if value else None
    if isinstance(value, Mapping) and isinstance(value.get("messages"), list):
        value = value["messages"]
    if isinstance(value, list):
        messages = []
        for item in value:
            role = item.get("role", item.get("type")) if isinstance(item, Mapping) else None
            content = item.get("content") if isinstance(item, Mapping) else None
            if role not in ROLES or not isinstance(content, str):
                return None
            messages.append({"role": ROLES[role], "content": content})
        return {"messages": messages} if messages else None
    if isinstance(value, Mapping) and value:
        texts = [v for v in value.values() if isinstance(v, str)]
        if len(value) == 1 and texts:
            return {"prompt": texts[0]}
        findings.note(where, "inputs with several fields written as 'key: value' lines")
        return {"prompt": "\n".join(f"{k}: {text_of(v)}" for k, v in value.items())}
    return None


def _expected(value: Any) -> Any:
    """A reference output as text: a string, a scalar, or an object's one text field."""
    if isinstance(value, Mapping):
        texts = [v for v in value.values() if isinstance(v, str)]
        if len(texts) == 1 and len(value) == 1:
            return texts[0]
        for key in ("output", "answer", "expected", "response", "text"):
            if isinstance(value.get(key), str):
                return value[key]
        return None
    if value is None or isinstance(value, list):
        return None
    return text_of(value)


def _records(path: Path, files: Files, form: str, findings: Findings) -> Iterator[dict[str, Any]]:
    shown = files.shown(path)
    if path.suffix.lower() == ".json":
        data = files.json(path, shown)
        if not isinstance(data, list):
            raise SuiteError(f"{shown}:1: a {form} export is JSON Lines or a JSON list")
        rows: Iterator[tuple[int, Any]] = ((i, r) for i, r in enumerate(data, start=1))
        at = f"{shown} item {{}}"
    else:
        rows = files.jsonl(path, shown)
        at = f"{shown}:{{}}"
    seen: dict[str, int] = {}
    keys = ("inputs", "outputs") if form == "langsmith" else ("input", "expectedOutput")
    for number, record in rows:
        where = at.format(number)
        if not isinstance(record, Mapping):
            findings.leave_out(where, "not a JSON object")
            continue
        if record.get("status") == "ARCHIVED":  # Langfuse leaves archived items out of runs
            findings.leave_out(where, "an archived item")
            continue
        prompt = _prompt(record.get(keys[0]), where, findings)
        if prompt is None:
            findings.leave_out(where, f"{keys[0]} that is no text, object or list of messages")
            continue
        expected = _expected(record.get(keys[1]))
        if expected is None:
            findings.leave_out(where, f"no text in {keys[1]} to compare the answer with")
            continue
        findings.map(f"{keys[1]} → expected, graded by similarity")
        case_id = _unique(f"c{number:04d}", seen)
        yield {"id": case_id, **prompt, "expected": expected, "graders": [_SIMILARITY]}
        if len(seen) > MAX_CASES:
            raise SuiteError(f"{where}: more than {MAX_CASES:,} cases; import a part")


def _evaluator(spec: Any) -> tuple[str, Any]:
    """``(name, arguments)`` of an evaluator as ``Dataset.to_file`` writes it."""
    if isinstance(spec, str):
        return spec, None
    if isinstance(spec, Mapping) and len(spec) == 1:
        ((name, args),) = spec.items()
        return str(name), args
    return "?", None


def _arg(args: Any, key: str) -> Any:
    return args.get(key) if isinstance(args, Mapping) else args


def _paths(expected: Mapping[str, Any]) -> bool:
    """An object whose keys can each be a json_field path."""
    return bool(expected) and all(isinstance(k, str) and _KEY.fullmatch(k) for k in expected)


def _graders(name: str, args: Any, expected: Any) -> tuple[list[dict[str, Any]], str | None]:
    """An evaluator → our graders (EqualsExpected on an object: one json_field per key)."""
    if name == "EqualsExpected" and isinstance(expected, Mapping) and _paths(expected):
        return [{"json_field": {"path": key}} for key in expected], None
    grader, why = _grader(name, args, expected)
    return ([grader] if grader is not None else []), why


def _grader(name: str, args: Any, expected: Any) -> tuple[dict[str, Any] | None, str | None]:
    """An evaluator → (our grader, None), (None, why not), or (None, None) to drop it."""
    if name == "EqualsExpected":
        if expected is None:
            return None, None  # Pydantic Evals skips it without an expected output
        if isinstance(expected, list) or (isinstance(expected, Mapping) and not _paths(expected)):
            return None, "EqualsExpected on a structured expected_output"
        return {"equals": {}}, None
    if name == "Equals":
        value = _arg(args, "value")
        if value is None or isinstance(value, Mapping | list):
            return None, "Equals with a structured value"
        return {"equals": {"expected": text_of(value)}}, None
    if name == "Contains":
        value = _arg(args, "value")
        if not isinstance(value, str) or not value:
            return None, "Contains with a value that is not text"
        sensitive = args.get("case_sensitive", True) if isinstance(args, Mapping) else True
        options: dict[str, Any] = {"any": [value]}
        if sensitive is not False:
            options["case_sensitive"] = True
        return {"contains": options}, None
    if name == "IsInstance" and _arg(args, "type_name") == "str":
        return None, None
    if name == "LLMJudge":
        rubric = _arg(args, "rubric")
        if not isinstance(rubric, str) or not rubric:
            return None, "LLMJudge without a rubric"
        judge: dict[str, Any] = {"rubric": rubric, "scale": 2}
        model = judge_model(_arg(args, "model")) if isinstance(args, Mapping) else None
        if model:
            judge["model"] = model
        return {"llm_judge": judge}, None
    return None, f"evaluator {name} (no equivalent grader)"


def _pydantic(path: Path, files: Files, form: str, findings: Findings) -> Iterator[dict[str, Any]]:
    shown = files.shown(path)
    data = files.structured(path, shown)
    if not isinstance(data, Mapping) or not isinstance(data.get("cases"), list):
        raise SuiteError(f"{shown}:1: a Pydantic Evals dataset has a list of cases")
    shared = data.get("evaluators") or []
    lines = getattr(data["cases"], "item_lines", [])
    seen: dict[str, int] = {}
    for index, case in enumerate(data["cases"]):
        where = f"{shown}:{lines[index]}" if index < len(lines) else shown
        if not isinstance(case, Mapping):
            findings.leave_out(where, "a case that is not a mapping")
            continue
        prompt = _prompt(case.get("inputs"), where, findings)
        if prompt is None:
            findings.leave_out(where, "inputs that are no text, object or list of messages")
            continue
        expected = case.get("expected_output")
        graders = []
        for spec in [*shared, *(case.get("evaluators") or [])]:
            name, args = _evaluator(spec)
            mapped, why = _graders(name, args, expected)
            if mapped:
                findings.map(name)
                graders.extend(mapped)
                if len(mapped) > 1:
                    findings.note(where, _PER_KEY)
            elif why:
                findings.miss(where, why)
            else:
                findings.note(where, f"{name} holds for any text answer, or has nothing to check")
        if not graders:
            findings.leave_out(where, "a case none of whose evaluators maps")
            continue
        out: dict[str, Any] = {"id": _unique(str(case.get("name") or f"case-{index + 1}"), seen)}
        out.update(prompt)
        if expected is not None:
            out["expected"] = expected if isinstance(expected, str) else _plain(expected)
        out["graders"] = graders
        yield out


def _plain(value: Any) -> Any:
    """A YAML value as plain JSON-like data (line-numbered containers dropped)."""
    return json.loads(json.dumps(value, default=str))
