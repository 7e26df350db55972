"""Agent cases as a suite writes them: ``agent:``, ``tools_from``, a tool's ``impl`` and
``timeout_s``, and a recorded ``expected.trajectory``.

Python tools are imported when the suite is read (like ``python:`` models are, by
``importlib``), so a missing module or function fails collection naming file, line and
key. A function's JSON Schema comes from its signature and docstring through pydantic,
imported only when a suite uses Python tools.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.safety import describe

TOOL_RESULTS = ("python", "recorded")
AGENT_KEYS = ("max_steps", "tool_results")
TOOL_KEYS = ("impl", "timeout_s")
"""Keys of a ``tools:`` entry that modelguard reads and never sends."""
MAX_STEPS = 100
DEFAULT_TIMEOUT_S = 30.0


class Invalid(Exception):
    """What a suite wrote wrong: the node at fault (for its line), the key, the problem."""

    def __init__(self, node: Any, key: str | None, problem: str) -> None:
        super().__init__(problem)
        self.node, self.key, self.problem = node, key, problem


@dataclass(frozen=True, slots=True)
class ToolImpl:
    """A tool's Python function, called with the model's arguments (checked by pydantic)."""

    name: str
    reference: str  # package.module:function, as shown in messages
    function: Callable[..., Any] = field(compare=False, repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """How an agent case runs: at most ``max_steps`` model calls; tool results from the
    ``impls`` (``python``) or from the ``recorded`` trajectory (``recorded``)."""

    max_steps: int = 8
    tool_results: str = "recorded"
    impls: Mapping[str, ToolImpl] = field(default_factory=dict)
    recorded: tuple[Mapping[str, Any], ...] = ()  # expected.trajectory: {name, arguments, result}


def import_module(name: Any) -> Any:
    """The module ``tools_from`` names; ValueError saying why it cannot be imported."""
    if not isinstance(name, str) or not re.fullmatch(r"[\w.]+", name):
        raise ValueError(f"must be a module name (package.module), got {name!r}")
    try:
        return importlib.import_module(name)
    except (Exception, SystemExit) as exc:
        raise ValueError(
            f"cannot import {name} ({describe(exc)}); make sure the module is importable from "
            "the test run (installed, or on sys.path: pythonpath in [tool.pytest.ini_options])"
        ) from None


def module_tools(module: Any) -> dict[str, ToolImpl]:
    """Every public function defined in ``module``, as a tool named after it."""
    found = {}
    for name, value in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(value):
            continue
        if value.__module__ == module.__name__:
            found[name] = ToolImpl(name, f"{module.__name__}:{name}", value)
    if not found:
        raise ValueError(f"{module.__name__} defines no public function to offer as a tool")
    return found


def load_impl(reference: Any) -> Callable[..., Any]:
    """The function ``impl: package.module:function`` names; ValueError saying why not."""
    if not isinstance(reference, str) or reference.count(":") != 1:
        raise ValueError(f"must be package.module:function, got {reference!r}")
    module_name, attr = reference.split(":")
    target = import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part, None)
    if not callable(target):
        raise ValueError(f"{reference}: {module_name} has no function {attr!r}")
    return target  # type: ignore[no-any-return]


def tool_entry(name: str, function: Callable[..., Any]) -> dict[str, Any]:
    """The OpenAI function tool for a Python function: its docstring's first paragraph as
    the description, its signature (types, defaults, ``Args:`` lines) as the parameters."""
    try:
        import pydantic
    except ImportError:  # pragma: no cover - installed with the SDKs
        raise ValueError("Python tools need pydantic: pip install pydantic") from None
    doc = inspect.getdoc(function) or ""
    described = _argument_docs(doc)
    fields: dict[str, Any] = {}
    try:
        hints = _hints(function)
        for parameter in inspect.signature(function).parameters.values():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            default = ... if parameter.default is parameter.empty else parameter.default
            annotation = hints.get(parameter.name, Any)
            info = pydantic.Field(default, description=described.get(parameter.name))
            fields[parameter.name] = (annotation, info)
        model = pydantic.create_model(f"{name}_arguments", **fields)
        schema = _untitled(model.model_json_schema())
    except (Exception, RecursionError) as exc:
        raise ValueError(f"{name}: no JSON Schema from its signature ({describe(exc)})") from None
    function_form: dict[str, Any] = {"name": name, "parameters": schema}
    description = doc.split("\n\n")[0].strip()
    if description:
        function_form["description"] = description
    return {"type": "function", "function": function_form}


def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(function)
    except Exception:  # an unresolvable string annotation: its raw form
        return {k: v for k, v in getattr(function, "__annotations__", {}).items() if k != "return"}


def _argument_docs(doc: str) -> dict[str, str]:
    """``name: description`` lines of a docstring's ``Args:`` section (Google style)."""
    found: dict[str, str] = {}
    inside = False
    for line in doc.splitlines():
        if re.fullmatch(r"\s*(Args|Arguments|Parameters):\s*", line):
            inside = True
            continue
        match = re.fullmatch(r"\s+(\w+)\s*(?:\([^)]*\))?:\s*(.+)", line) if inside else None
        if match:
            found[match.group(1)] = match.group(2).strip()
        elif inside and line.strip() and not line.startswith((" ", "\t")):
            inside = False
    return found


def _untitled(schema: Any) -> Any:
    """The schema without pydantic's generated ``title`` keys (noise in every request)."""
    if isinstance(schema, dict):
        return {
            k: _untitled(v) for k, v in schema.items() if not (k == "title" and isinstance(v, str))
        }
    if isinstance(schema, list):
        return [_untitled(v) for v in schema]
    return schema


def python_agent(
    functions: Sequence[Callable[..., Any]], max_steps: int
) -> tuple[AgentSpec, list[dict[str, Any]]]:
    """A Python test's agent: each function a tool (schema from its signature), run as is."""
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be a whole number >= 1, got {max_steps!r}")
    impls: dict[str, ToolImpl] = {}
    entries = []
    for function in functions:
        name = getattr(function, "__name__", None)
        if not callable(function) or not isinstance(name, str):
            raise ValueError(f"tools must be functions, got {function!r}")
        entries.append(tool_entry(name, function))
        reference = f"{getattr(function, '__module__', '?')}:{name}"
        impls[name] = ToolImpl(name, reference, function)
    return AgentSpec(max_steps, "python", impls), entries


def expand_tools(tools: Any, module: Mapping[str, ToolImpl]) -> dict[str, ToolImpl]:
    """Read ``impl`` and ``timeout_s`` out of a ``tools:`` list (in place: what remains is
    sent); an entry with ``impl`` and no ``function`` gets one from the Python function.

    Returns the tools' implementations by name (``module``'s for tools named like one of
    its functions); ``Invalid`` for what is wrong.
    """
    impls: dict[str, ToolImpl] = {}
    if not isinstance(tools, list):
        return impls  # the request check says what is wrong
    for index, entry in enumerate(tools):
        if not isinstance(entry, Mapping):
            continue
        function = entry.get("function")
        name = function.get("name") if isinstance(function, Mapping) else None
        if not any(key in entry for key in TOOL_KEYS):
            if isinstance(name, str) and name in module:
                impls[name] = module[name]
            continue
        timeout = entry.get("timeout_s", DEFAULT_TIMEOUT_S)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 < timeout <= 3600
        ):
            raise Invalid(entry, "timeout_s", f"must be seconds in (0, 3600], got {timeout!r}")
        if "impl" in entry:
            try:
                call = load_impl(entry["impl"])
            except ValueError as exc:
                raise Invalid(entry, "impl", str(exc)) from None
            reference = str(entry["impl"])
        elif isinstance(name, str) and name in module:
            call, reference = module[name].function, module[name].reference
        else:
            raise Invalid(entry, "timeout_s", "is only for a tool with impl (or from tools_from)")
        sent = {k: v for k, v in entry.items() if k not in TOOL_KEYS}
        if not isinstance(function, Mapping) or "parameters" not in function:
            try:
                made = tool_entry(str(name or getattr(call, "__name__", "tool")), call)
            except ValueError as exc:
                raise Invalid(entry, "impl", str(exc)) from None
            sent = {**made, **sent, "function": {**made["function"], **(function or {})}}
        tools[index] = sent
        final = (sent.get("function") or {}).get("name")
        if isinstance(final, str):
            impls[final] = ToolImpl(final, reference, call, float(timeout))
    return impls


def agent_spec(
    block: Mapping[str, Any],
    impls: Mapping[str, ToolImpl],
    recorded: tuple[Mapping[str, Any], ...],
) -> AgentSpec:
    """An ``agent:`` block (defaults' and the case's keys joined) checked; ``Invalid``."""
    for key in block:
        if key not in AGENT_KEYS:
            raise Invalid(block, str(key), f"unknown key (known: {', '.join(AGENT_KEYS)})")
    steps = block.get("max_steps", 8)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise Invalid(
            block, "max_steps", f"must be an integer from 1 to {MAX_STEPS}, got {steps!r}"
        )
    mode = block.get("tool_results", "python" if impls else "recorded")
    if mode not in TOOL_RESULTS:
        raise Invalid(block, "tool_results", f"must be python or recorded, got {mode!r}")
    if mode == "python" and not impls:
        raise Invalid(block, "tool_results", (
            "python needs the tools' functions: tools_from: package.module at the suite's top, "
            "or impl: package.module:function on a tool (or tool_results: recorded)"
        ))  # fmt: skip
    return AgentSpec(steps, str(mode), dict(impls), recorded)


def recorded_trajectory(expected: Any) -> tuple[Mapping[str, Any], ...]:
    """``expected.trajectory`` checked: a list of ``{name, arguments, result}``; ``Invalid``."""
    if not isinstance(expected, Mapping) or "trajectory" not in expected:
        return ()
    steps = expected["trajectory"]
    if not isinstance(steps, list):
        raise Invalid(expected, "trajectory", "must be a list of {name, arguments, result}")
    for index, entry in enumerate(steps):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise Invalid(expected, "trajectory", f"entry #{index + 1} needs a name (a string)")
        unknown = sorted(map(str, set(entry) - {"name", "arguments", "result"}))
        if unknown:
            raise Invalid(entry, unknown[0], "unknown key in a trajectory entry (known: name, "
                          "arguments, result)")  # fmt: skip
        if not isinstance(entry.get("arguments", {}), Mapping):
            raise Invalid(entry, "arguments", "must be a mapping (the call's arguments)")
        try:
            json.dumps(entry.get("result"))
        except (TypeError, ValueError) as exc:
            raise Invalid(entry, "result", f"must be JSON data: {exc}") from None
    return tuple(steps)
