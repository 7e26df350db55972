"""YAML suites → Suite and Case records, validated with file:line in every message.

The file is read by the hardened loader (``yaml_loader.read_yaml``); this module checks
its keys and values and builds the frozen records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..records.calls import Message, params_problem, prompt_key, tool_calls_from
from ..records.grades import RESERVED_KEYS as GRADER_RESERVED
from ..records.grades import GraderSpec
from .agent import AgentSpec, Invalid, ToolImpl, agent_spec, expand_tools, recorded_trajectory
from .media import PartProblem, content_parts, inputs_of
from .tools import combined_problem, history_problem, message_problem, request_problem
from .where import Where, type_name
from .yaml_loader import LineDict, read_yaml

SUITE_KEYS = ("suite", "description", "tags", "defaults", "cases", "tools_from")
REQUEST_KEYS = ("tools", "tool_choice", "parallel_tool_calls", "response_format")
"""Keys a case or defaults may write beside params; they are sent (and cached) as params."""
DEFAULT_KEYS = ("system", "params", "repeat", "graders", "tags", "agent", *REQUEST_KEYS)
CASE_KEYS = (
    "id", "description", "prompt", "messages", "system", "params", "expected", "tags",
    "baseline", "graders", "repeat", "labels", "agent", *REQUEST_KEYS,
)  # fmt: skip
BASELINE_KEYS = (
    "output", "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
    "reasoning_tokens", "cost_usd", "latency_s", "model", "tool_calls", "steps",
)  # fmt: skip
MESSAGE_KEYS = frozenset(("role", "content", "name", "tool_calls", "tool_call_id"))
ROLES = ("system", "user", "assistant", "developer", "tool")


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    """A production answer carried by a case (``baseline:``): the baseline is not called."""

    output: str
    usage: Mapping[str, int] = field(default_factory=dict)
    cost_usd: float | None = None
    latency_s: float | None = None
    tool_calls: tuple[Mapping[str, Any], ...] = ()
    steps: tuple[RecordedAnswer, ...] = ()
    """An agent case's: each model call's answer in order, replayed by its loop with no call."""


@dataclass(frozen=True, slots=True)
class Case:
    """One prompt of a suite, with what a good answer looks like."""

    suite: str
    id: str
    messages: tuple[Message, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    expected: Any = None
    tags: tuple[str, ...] = ()
    graders: tuple[GraderSpec, ...] = ()
    repeat: int = 1
    baseline: RecordedAnswer | None = None
    path: str = ""
    line: int = 0
    labels: Mapping[str, float] = field(default_factory=dict)  # `labels: {MODEL: score}`
    answer_labels: Mapping[tuple[str, str], float] = field(default_factory=dict)
    """From the labels file beside the suite: (model, answer_sha) → a person's score."""
    agent: AgentSpec | None = None  # an agent case: a loop of model calls and tool runs
    unit: str = field(default="", init=False, repr=False, compare=False)
    inputs: tuple[Mapping[str, Any], ...] = field(
        default=(), init=False, repr=False, compare=False
    )  # what reports show of its images, audio and files (``parts.part_summary``)

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit", prompt_key(self.messages, self.params))
        object.__setattr__(self, "inputs", inputs_of(self.messages))

    def __repr__(self) -> str:  # short: pytest shows it beside every failing test
        return f"<case {self.id} of {self.path or self.suite}:{self.line}>"

    def human_label(self, model: str, text: str) -> float | None:
        """A person's score of ``model``'s answer ``text``: the labels file's, for this exact
        text, else the case's own ``labels: {MODEL: score}``; None when unlabelled."""
        from .labels import answer_sha

        found = self.answer_labels.get((model, answer_sha(text)))
        return found if found is not None else self.labels.get(model)


@dataclass(frozen=True, slots=True)
class Suite:
    name: str
    path: str
    cases: tuple[Case, ...]
    notes: tuple[str, ...] = ()  # what loading it must tell (labels that apply to nothing)


def load_suite(path: Path, rootdir: Path | None = None) -> Suite:
    """Parse and validate one ``*.modelguard.yaml`` file."""
    shown = _display_path(path, rootdir)
    where = Where(shown, str(rootdir if rootdir is not None else path.parent))
    data = read_yaml(path, shown)
    if data is None:
        raise where.error("empty suite (add 'cases:')")
    if not isinstance(data, Mapping):
        raise where.error(
            f"suite must be a mapping (suite:, defaults:, cases:), got {type_name(data)}",
            getattr(data, "line", 1),
        )
    where.check_keys(data, SUITE_KEYS, "suite")
    name = data.get("suite", path.name.split(".modelguard.")[0])
    if not isinstance(name, str) or not name:
        raise where.fail(data, "suite", "must be a non-empty string")
    defaults = where.mapping(data, "defaults")
    where.check_keys(defaults, DEFAULT_KEYS, "defaults")
    suite_tags = _tags(where, data, "tags") + _tags(where, defaults, "tags")
    cases_node = data.get("cases")
    if not isinstance(cases_node, list) or not cases_node:
        raise where.fail(
            data, "cases" if "cases" in data else None, "a suite needs a non-empty list of cases"
        )
    base_dir = str(path.parent)
    default_graders = _graders(where, defaults, base_dir)
    tools = _Tools(where, data, defaults)
    cases = []
    seen: dict[str, int] = {}
    item_lines = getattr(cases_node, "item_lines", [])
    for index, node in enumerate(cases_node):
        if not isinstance(node, Mapping):
            line = item_lines[index] if index < len(item_lines) else 0
            problem = f"case #{index + 1} must be a mapping, got {type_name(node)}"
            raise where.error(problem, line)
        impls = tools.expand(node)
        case = _case(where, node, index, name, defaults, suite_tags, default_graders, base_dir)
        case = tools.agent_case(node, case, impls)
        if case.id in seen:
            raise where.fail(
                node, "id", f"duplicate case id {case.id!r} (first at line {seen[case.id]})"
            )
        seen[case.id] = case.line
        cases.append(case)
    labelled, notes = _with_labels(path, shown, name, cases)
    return Suite(name=name, path=shown, cases=labelled, notes=notes)


class _Tools:
    """A suite's Python tools (``tools_from``, ``impl``) and its cases' ``agent:`` blocks."""

    def __init__(self, where: Where, data: Mapping[str, Any], defaults: Mapping[str, Any]):
        self.where, self.data = where, data
        self.module: dict[str, ToolImpl] = {}
        if "tools_from" in data:
            from .agent import import_module, module_tools

            try:
                self.module = module_tools(import_module(data["tools_from"]))
            except ValueError as exc:
                raise where.fail(data, "tools_from", str(exc)) from None
        self.defaults = defaults
        self.default_agent = where.mapping(defaults, "agent")
        self.default_impls = self._expanded(defaults)
        self.entries: list[dict[str, Any]] | None = None  # tools_from's tools, made once

    def _expanded(self, owner: Mapping[str, Any]) -> dict[str, ToolImpl]:
        try:
            return expand_tools(owner.get("tools"), self.module)
        except Invalid as exc:
            raise self.where.fail(exc.node, exc.key, exc.problem) from None

    def expand(self, node: Any) -> dict[str, ToolImpl]:
        """The case's tools' implementations (its tools rewritten to what is sent); an agent
        case that offers no tools gets ``tools_from``'s functions."""
        if not isinstance(node, dict):
            return {}
        agent = "agent" in node or bool(self.default_agent)
        if agent and self.module and "tools" not in node and "tools" not in self.defaults:
            from .agent import tool_entry

            if self.entries is None:
                try:
                    self.entries = [tool_entry(n, t.function) for n, t in self.module.items()]
                except ValueError as exc:
                    raise self.where.fail(self.data, "tools_from", str(exc)) from None
            node["tools"] = list(self.entries)
            return dict(self.module)
        if "tools" in node:
            return self._expanded(node)
        return dict(self.default_impls)

    def agent_case(self, node: Mapping[str, Any], case: Case, impls: dict[str, ToolImpl]) -> Case:
        """``case`` with its ``agent:`` spec (defaults' keys, then the case's), if it has one."""
        own = self.where.mapping(node, "agent")
        if "agent" not in node and not self.default_agent:
            return case
        try:
            recorded = recorded_trajectory(case.expected)
            spec = agent_spec({**self.default_agent, **own}, impls, recorded)
        except Invalid as exc:
            at, key = exc.node, exc.key
            if isinstance(at, dict) and not isinstance(at, LineDict):  # the joined agent block
                own_key = key in own or key not in self.default_agent
                at, key = (own if own_key else self.default_agent), f"agent.{key}"
            raise self.where.fail(at, key, exc.problem) from None
        if not case.params.get("tools"):
            raise self.where.fail(
                node, "agent", "an agent case needs tools: offer some (tools: [...]) or "
                "name their module with tools_from at the suite's top"
            )  # fmt: skip
        from dataclasses import replace

        return replace(case, agent=spec)


def _with_labels(
    path: Path, shown: str, suite: str, cases: list[Case]
) -> tuple[tuple[Case, ...], tuple[str, ...]]:
    """The cases with the human labels of ``<suite>.labels.yaml`` beside the suite, if any,
    and a note on its labels that apply to no case of the suite (never used silently)."""
    from dataclasses import replace

    from .labels import LabelsError, labels_path, load_labels

    file = labels_path(path)
    if not file.exists() and not file.is_symlink():  # a directory or a FIFO there: an error
        return tuple(cases), ()
    try:
        labels = load_labels(file)
    except LabelsError as exc:
        raise Where.as_error(str(exc)) from None
    ids = {case.id for case in cases}
    by_case: dict[str, dict[tuple[str, str], float]] = {}
    unused = []
    for label in labels:
        if label.suite == suite and label.case in ids:
            by_case.setdefault(label.case, {})[(label.model, label.answer_sha)] = label.score
        else:
            unused.append(label)
    labelled = tuple(
        replace(case, answer_labels=by_case[case.id]) if case.id in by_case else case
        for case in cases
    )
    if not unused:
        return labelled, ()
    first = unused[0]
    what = f"suite {first.suite!r}" if first.suite != suite else f"case {first.case!r}"
    note = (
        f"{first.where}: {len(unused)} label(s) of {shown} name a case this suite does not "
        f"have (first: {what}); they are not used: remove them"
    )
    return labelled, (note,)


def _display_path(path: Path, rootdir: Path | None) -> str:
    if rootdir is not None:
        try:
            return path.resolve().relative_to(rootdir.resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


def _case(
    where: Where,
    node: Any,
    index: int,
    suite: str,
    defaults: Mapping[str, Any],
    suite_tags: tuple[str, ...],
    default_graders: tuple[GraderSpec, ...],
    base_dir: str,
) -> Case:
    where.check_keys(node, CASE_KEYS, f"case #{index + 1}")
    case_id = node.get("id")
    if isinstance(case_id, int) and not isinstance(case_id, bool):
        case_id = str(case_id)
    if not isinstance(case_id, str) or not case_id.strip():
        raise where.fail(node, "id" if "id" in node else None, "every case needs an id (a string)")
    if any(c in case_id for c in "[]:\n") or case_id != case_id.strip():
        raise where.fail(
            node, "id", f"case id {case_id!r} may not contain '[', ']', ':' or surrounding spaces"
        )
    graders = _graders(where, node, base_dir) if "graders" in node else default_graders
    if not graders:
        raise where.fail(
            node,
            None,
            f"case {case_id!r} has no graders (add 'graders:' to the case or to defaults)",
        )
    return Case(
        suite=suite,
        id=case_id,
        messages=_messages(where, node, defaults, base_dir),
        params=_params(where, node, defaults),
        expected=node.get("expected"),
        tags=tuple(dict.fromkeys(suite_tags + _tags(where, node, "tags"))),
        graders=graders,
        repeat=_repeat(where, node, defaults),
        baseline=_recorded(where, node),
        path=where.path,
        line=getattr(node, "line", 0),
        labels=_labels(where, node),
    )


def _labels(where: Where, node: Mapping[str, Any]) -> dict[str, float]:
    """A case's ``labels: {MODEL: score}``: a person's score in [0, 1] of each model's answer."""
    value = where.mapping(node, "labels")
    out = {}
    for model, score in value.items():
        if not isinstance(model, str) or not model:
            raise where.fail(node, "labels", f"keys must be model names, got {model!r}")
        if (
            isinstance(score, bool)
            or not isinstance(score, (int, float))
            or not (math.isfinite(score) and 0 <= score <= 1)
        ):
            raise where.fail(
                value, model, f"label must be a number in [0, 1] (1 pass, 0 fail), got {score!r}"
            )
        out[model] = float(score)
    return out


def _messages(
    where: Where, node: Mapping[str, Any], defaults: Mapping[str, Any], base_dir: str
) -> tuple[Message, ...]:
    has_prompt, has_messages = "prompt" in node, "messages" in node
    if has_prompt == has_messages:
        raise where.fail(node, None, "a case needs exactly one of 'prompt' or 'messages'")
    if has_prompt:
        prompt = node["prompt"]
        if not isinstance(prompt, str | list):
            raise where.fail(
                node, "prompt", f"must be a string or a list of parts, got {type_name(prompt)}"
            )
        content = _content(where, node, "prompt", "user", base_dir)
        messages: list[Message] = [{"role": "user", "content": content}]
    else:
        messages = _message_list(where, node, base_dir)
    system = node.get("system", defaults.get("system"))
    if system is not None and not isinstance(system, str):
        raise where.fail(node if "system" in node else defaults, "system", "must be a string")
    if system is not None and messages[0]["role"] != "system":
        messages.insert(0, {"role": "system", "content": system})
    return tuple(messages)


def _content(where: Where, owner: Any, key: str, role: str, base_dir: str) -> Any:
    """``owner[key]`` as a message's content: a list of parts read and checked by
    ``media.content_parts``; anything else as written."""
    raw = owner.get(key)
    if not isinstance(raw, list):
        return raw
    try:
        return content_parts(raw, role, base_dir, where.root)
    except PartProblem as exc:
        node = exc.node if isinstance(exc.node, LineDict) else owner
        raise where.fail(node, exc.key if node is exc.node else key, exc.problem) from None


def _message_list(where: Where, node: Mapping[str, Any], base_dir: str) -> list[Message]:
    raw = node["messages"]
    if not isinstance(raw, list) or not raw:
        raise where.fail(node, "messages", "must be a non-empty list of {role, content}")
    messages: list[Message] = []
    for item in raw:
        if not isinstance(item, Mapping) or set(item) - MESSAGE_KEYS or "role" not in item:
            raise where.fail(
                item if isinstance(item, LineDict) else node,
                "messages",
                "each message needs 'role' and 'content' (optionally 'name', and 'tool_calls' "
                "on an assistant message or 'tool_call_id' on a tool result)",
            )
        if item["role"] not in ROLES:
            raise where.fail(
                item, "role", f"unknown role {item['role']!r}" + Where.hint(item["role"], ROLES)
            )
        problem = message_problem(item)
        if problem:
            raise where.fail(item, problem[0], problem[1])
        content = _content(where, item, "content", str(item["role"]), base_dir)
        messages.append({**item, "content": content} if "content" in item else dict(item))
    unpaired = history_problem(messages)
    if unpaired:
        index, key, text = unpaired
        raise where.fail(raw[index], key, text)
    return messages


def _params(where: Where, node: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults' params, then the case's; ``tools`` and the like written beside them join them.

    Tool settings are checked wherever they are written, beside ``params`` or inside it.
    """
    params: dict[str, Any] = {}
    owners: dict[str, Mapping[str, Any]] = {}  # who wrote each tool setting last
    for owner in (defaults, node):
        inside = _mapping(where, owner, "params")
        wrong = params_problem(inside)
        if wrong:
            raise where.fail(owner.get("params"), "params." + wrong[0], wrong[1])
        for holder, values in ((owner.get("params"), inside), (owner, owner)):
            for key in REQUEST_KEYS:
                if key in values:
                    wrong = request_problem(key, values[key])
                    if wrong:
                        raise where.fail(holder, key, wrong[1], at=wrong[0])
                    owners[key] = holder if isinstance(holder, Mapping) else owner
        params.update(inside)
        params.update({key: owner[key] for key in REQUEST_KEYS if key in owner})
    disagreement = combined_problem(params)
    if disagreement:
        key, problem = disagreement
        raise where.fail(owners.get(key, node), key, problem)
    return params


def _mapping(where: Where, node: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = node.get(key, {})
    if not isinstance(value, Mapping):
        raise where.fail(node, key, f"must be a mapping, got {type_name(value)}")
    return dict(value)


def _tags(where: Where, node: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = node.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise where.fail(node, key, "must be a list of non-empty strings")
    return tuple(value)


def _repeat(where: Where, node: Mapping[str, Any], defaults: Mapping[str, Any]) -> int:
    owner = node if "repeat" in node else defaults
    value = owner.get("repeat", 1)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise where.fail(owner, "repeat", f"must be an integer from 1 to 1000, got {value!r}")
    return value


def _recorded(where: Where, node: Mapping[str, Any]) -> RecordedAnswer | None:
    raw = node.get("baseline")
    if raw is None:
        return None
    if isinstance(raw, str):
        return RecordedAnswer(output=raw)
    raw = where.mapping(node, "baseline")
    where.check_keys(raw, BASELINE_KEYS, "baseline")
    answer = _recorded_answer(where, raw)
    steps = raw.get("steps")
    if steps is None:
        return answer
    if not isinstance(steps, list) or not steps:
        raise where.fail(raw, "steps", "must be a list of recorded answers (an agent's steps)")
    for step in steps:
        where.check_keys(step, BASELINE_KEYS[:-1], "a baseline step")
    from dataclasses import replace

    return replace(answer, steps=tuple(_recorded_answer(where, step) for step in steps))


def _recorded_answer(where: Where, raw: Mapping[str, Any]) -> RecordedAnswer:
    if not isinstance(raw.get("output"), str):
        raise where.fail(raw, "output", "a recorded baseline needs 'output' (the answer text)")
    usage: dict[str, int] = {}
    for key in BASELINE_KEYS[1:6]:
        value = raw.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise where.fail(raw, key, f"must be a non-negative integer, got {value!r}")
        usage[key] = value
    numbers = {}
    for key in ("cost_usd", "latency_s"):
        value = raw.get(key)
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not 0 <= value < math.inf
        ):
            raise where.fail(raw, key, f"must be a non-negative number, got {value!r}")
        numbers[key] = None if value is None else float(value)
    try:
        calls = tool_calls_from(raw.get("tool_calls"))
    except ValueError as exc:
        raise where.fail(raw, "tool_calls", str(exc)) from None
    return RecordedAnswer(
        raw["output"], usage, numbers["cost_usd"], numbers["latency_s"], tool_calls=calls
    )


def _graders(where: Where, node: Mapping[str, Any], base_dir: str) -> tuple[GraderSpec, ...]:
    raw = node.get("graders", [])
    if not isinstance(raw, list):
        raise where.fail(node, "graders", "must be a list of graders")
    return tuple(_grader(where, item, node, base_dir) for item in raw)


def _grader(where: Where, item: Any, parent: Mapping[str, Any], base_dir: str) -> GraderSpec:
    line = getattr(item, "line", 0) or getattr(parent, "key_lines", {}).get("graders", 0)
    source = f"{where.path}:{line}" if line else where.path
    if isinstance(item, str):
        return GraderSpec(name=item, source=source, base_dir=base_dir, root_dir=where.root)
    if not isinstance(item, Mapping):
        raise where.fail(parent, "graders", f"a grader is a name or a mapping, got {item!r}")
    kinds = [k for k in item if k not in GRADER_RESERVED]
    if not kinds:
        raise where.fail(item, None, "grader entry names no grader (e.g. '- equals: {}')")
    name, extra = kinds[0], {k: item[k] for k in kinds[1:]}
    weight = item.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        raise where.fail(item, "weight", f"must be a non-negative number, got {weight!r}")
    threshold = item.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 <= threshold <= 1
    ):
        raise where.fail(item, "threshold", f"must be a number in [0, 1], got {threshold!r}")
    required = item.get("required", False)
    if not isinstance(required, bool):
        raise where.fail(item, "required", f"must be true or false, got {required!r}")
    dimension = item.get("dimension")
    if dimension is not None and not isinstance(dimension, str):
        raise where.fail(item, "dimension", "must be a string")
    return GraderSpec(
        name=str(name),
        options=item[name],
        weight=float(weight),
        required=required,
        threshold=None if threshold is None else float(threshold),
        dimension=dimension,
        source=source,
        base_dir=base_dir,
        root_dir=where.root,
        extra=extra,
    )


def claim_cases(claimed: dict[tuple[str, str], str], suite: Suite) -> None:
    """Refuse a second file with the same suite name and case ids: its results would merge.

    ``claimed``: the run's (suite name, case id) → the file that has it, updated.
    """
    for case in suite.cases:
        first = claimed.setdefault((suite.name, case.id), suite.path)
        if first != suite.path:
            raise Where(suite.path, "").error(
                f"suite {suite.name!r} case {case.id!r} is also in {first}: give one of the "
                "files another `suite:` name or other case ids",
                case.line,
            )
