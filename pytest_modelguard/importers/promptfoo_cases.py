"""promptfoo tests × prompts → case records: prompts rendered with each test's vars, asserts
mapped once per test, budgets kept at their strictest, and the suite document."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ..core.errors import SuiteError
from ..suite import dump_yaml as dump
from .findings import Findings
from .nunjucks import Unsupported, check, render
from .promptfoo_asserts import SchemaReader, map_assert
from .promptfoo_prompts import Prompt
from .promptfoo_providers import Providers, judge_model, tools_problem
from .promptfoo_tests import Test

MAX_CASES = 100_000
BLOCKING = ("options.transform", "options.postprocess", "options.transformVars",
            "test key providerOutput", "test key assertScoringFunction")  # fmt: skip
"""Test keys that change what the asserts see: mapping the asserts alone would be wrong."""
SchemaFiles = Callable[[str], SchemaReader]
"""Given an assert's ``file:line``, the reader of the JSON Schemas its value names."""


def usable(prompts: list[Prompt], findings: Findings) -> list[Prompt]:
    """Prompts we can render faithfully; the others counted once each."""
    out = []
    for prompt in prompts:
        if prompt.text is None and not prompt.messages:
            continue
        templates = [prompt.text] if prompt.text is not None else [c for _, c in prompt.messages]
        try:
            for template in templates:
                check(template)
        except Unsupported as exc:
            findings.miss(prompt.where, f"prompt template: {exc}")
            continue
        out.append(prompt)
    return out


class CaseMaker:
    """Tests × prompts → case records, asserts mapped once per test."""

    def __init__(self, schema_of: SchemaFiles, providers: Providers, findings: Findings) -> None:
        self.schema_of = schema_of
        self.providers = providers
        self.findings = findings
        self.judged = False  # some llm_judge was written
        self.budgets: dict[str, list[float]] = {}

    def _judge(self, test: Test) -> Callable[[Any], str | None]:
        """An llm-rubric's judge: its own provider, else the test's grading provider when it
        differs from the suite's judge (``options.provider``)."""
        fallback = test.options.get("provider")

        def judge(provider: Any) -> str | None:
            if provider is None and fallback is not None:
                model = judge_model(fallback)
                if model is None:
                    self.findings.miss(test.where, "options.provider we cannot call")
                return None if model == self.providers.judge else model
            return judge_model(provider)

        return judge

    def graders(self, test: Test) -> list[dict[str, Any]]:
        out = []
        for where, assertion in test.asserts:
            mapped = map_assert(assertion, test.vars, self.schema_of(where), self._judge(test))
            kind = str(assertion.get("type"))
            grader = mapped.grader
            if grader is not None and "tool_call" in grader:
                problem = tools_problem(self.providers.tools)
                if problem:
                    mapped = type(mapped)(unmapped=f"{kind} {problem}")
                    grader = None
            for note in mapped.notes:
                self.findings.note(where, note)
            if mapped.unmapped:
                self.findings.miss(where, mapped.unmapped)
                continue
            self.findings.map(kind)
            if mapped.budget is not None:
                self.budgets.setdefault(mapped.budget[0], []).append(mapped.budget[1])
            if grader is not None:
                self.judged = self.judged or "llm_judge" in grader
                out.append(grader)
        return out

    def cases(self, tests: list[Test], prompts: list[Prompt]) -> list[dict[str, Any]]:
        cases: list[dict[str, Any]] = []
        width = len(str(len(tests)))
        for number, test in enumerate(tests, start=1):
            blocking = [key for key in test.unmapped if key in BLOCKING]
            for key in test.unmapped:
                self.findings.miss(test.where, key)
            if blocking:  # its asserts are not mapped either: they see a changed output
                self.findings.leave_out(test.where, f"a test with {blocking[0]}")
                continue
            graders = self.graders(test)
            chosen = [p for p in prompts if not test.prompts or p.label in test.prompts]
            why = "no assert" if not test.asserts else "none of its asserts maps"
            if not graders or not chosen:
                why = why if not graders else "its prompts: names no prompt label we import"
                self.findings.leave_out(test.where, f"a test where {why}")
                continue
            for index, prompt in enumerate(prompts, start=1):
                if prompt not in chosen:
                    continue
                case_id = f"t{number:0{width}d}" + (f"-p{index}" if len(prompts) > 1 else "")
                cases.append(self._case(case_id, test, prompt, graders))
                if len(cases) > MAX_CASES:
                    raise SuiteError(f"{test.where}: more than {MAX_CASES:,} cases; import a part")
        for key, values in self.budgets.items():
            self.providers.budgets[key] = min(values)
            if len(set(values)) > 1:
                self.findings.note("the config", f"{key}: tests differ; the strictest is kept")
        return cases

    def _case(
        self, case_id: str, test: Test, prompt: Prompt, graders: list[dict[str, Any]]
    ) -> dict[str, Any]:
        missing: set[str] = set()
        case: dict[str, Any] = {"id": case_id}
        label = prompt.label if prompt.label != prompt.text else None
        described = " · ".join(x for x in (test.description, label) if x)
        if described:
            case["description"] = described
        prefix, suffix = test.options.get("prefix", ""), test.options.get("suffix", "")
        if prompt.text is not None:
            case["prompt"] = f"{prefix}{render(prompt.text, test.vars, missing)}{suffix}"
        else:
            if prefix or suffix:
                self.findings.note(test.where, "options.prefix/suffix on a chat prompt: not used")
            case["messages"] = [
                {"role": role, "content": render(content, test.vars, missing)}
                for role, content in prompt.messages
            ]
        for name in sorted(missing):
            self.findings.note(
                test.where, f"var {name} is not defined: rendered empty (as Nunjucks)"
            )
        case["graders"] = graders
        return case


def document(
    shown: str,
    name: str,
    data: Mapping[str, Any],
    cases: list[dict[str, Any]],
    providers: Providers,
    prompts: int,
    tests: int,
) -> str:
    head: dict[str, Any] = {"suite": name}
    if isinstance(data.get("description"), str):
        head["description"] = data["description"]
    defaults: dict[str, Any] = {}
    if providers.tools and any("tool_call" in g for c in cases for g in c["graders"]):
        defaults["tools"] = providers.tools
    first = cases[0]["graders"]
    if all(case["graders"] == first for case in cases):
        defaults["graders"] = first
        for case in cases:
            del case["graders"]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    header = (
        f"# Imported by `modelguard import promptfoo` from {shown} on {when}:\n"
        f"# {len(cases)} cases from {prompts} prompt(s) x {tests} test(s).\n"
    )
    body = dump(head) + (dump({"defaults": defaults}) if defaults else "")
    return header + body + dump({"cases": cases})
