"""``modelguard import promptfoo CONFIG``: a promptfoo config → a suite and a config snippet.

Each (test, prompt) pair becomes a case whose prompt is the template rendered with the
test's vars; the test's asserts become its graders; ``cost`` and ``latency`` become
budgets; the providers become aliases in a ``[tool.modelguard]`` snippet. What cannot map
is counted with its first ``file:line``; a test none of whose asserts maps is left out and
counted the same way. Local ``$ref`` (``#/...``) are resolved; any other is refused unread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import SuiteError
from .findings import Findings, NothingImported
from .promptfoo_cases import CaseMaker, document, usable
from .promptfoo_prompts import PromptReader
from .promptfoo_providers import Providers, judge_model, read_providers, snippet
from .promptfoo_schema import problems, resolve_refs
from .promptfoo_tests import TestReader
from .sources import Files, line_of

NOTED_TOP = ("scenarios", "nunjucksFilters", "derivedMetrics", "extensions", "redteam", "env")


@dataclass
class Imported:
    """An imported suite, ready to write, with what mapped and what did not."""

    name: str
    suite: str
    snippet: str
    cases: int
    prompts: int
    tests: int
    findings: Findings = field(default_factory=Findings)


def import_config(path: Path, name: str | None = None) -> Imported:
    """Read and map one promptfoo config (SuiteError naming file:line when it cannot be read)."""
    files = Files(path.parent)
    shown = files.shown(path)
    data = files.structured(path, shown)
    if not isinstance(data, Mapping):
        raise SuiteError(f"{shown}:1: a promptfoo config is a mapping (prompts:, tests:, ...)")
    data = resolve_refs(data, data, f"{shown}:1")
    findings = Findings()
    for where, problem in problems(data, shown):
        findings.note(where, f"promptfoo's schema: {problem}")
    if "prompts" not in data:
        raise SuiteError(f"{shown}:1: the config has no prompts")
    for key in NOTED_TOP:
        if key in data:
            findings.miss(line_of(data, key, shown), f"config key {key}")
    prompts = usable(PromptReader(files, shown, findings).read(data["prompts"], shown), findings)
    providers = read_providers(
        data.get("providers", data.get("targets")), line_of(data, "providers", shown), findings
    )
    default = data.get("defaultTest")
    options = default.get("options") if isinstance(default, Mapping) else None
    if isinstance(options, Mapping) and options.get("provider") is not None:
        providers.judge = judge_model(options["provider"])
    tests = TestReader(files, shown, findings).read(
        data.get("tests"), default, line_of(data, "tests", f"{shown}:1")
    )
    mapping = CaseMaker(files.schema_reader, providers, findings)
    cases = mapping.cases(tests, prompts)
    if not cases:
        raise NothingImported(f"{shown}: no test could be imported (see above)", findings)
    suite_name = name or _name(path, data)
    text = document(shown, suite_name, data, cases, providers, len(prompts), len(tests))
    return Imported(
        name=suite_name,
        suite=text,
        snippet=_snippet_text(providers, mapping.judged),
        cases=len(cases),
        prompts=len(prompts),
        tests=len(tests),
        findings=findings,
    )


def _name(path: Path, data: Mapping[str, Any]) -> str:
    stem = path.name.split(".")[0]
    base = path.resolve().parent.name if stem == "promptfooconfig" else stem
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in base).strip("-")
    return cleaned or "promptfoo"


def _snippet_text(providers: Providers, judged: bool) -> str:
    text = snippet(providers)
    if judged and not providers.judge:
        text += (
            "\n# llm-rubric asserts became llm_judge graders: name the judge model, e.g.\n"
            '# judge = "openai:gpt-4.1"   (under [tool.modelguard])\n'
        )
    return text
