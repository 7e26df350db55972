"""The table of built-in grader kinds, and the `python: package.module:function` grader."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ..core.formatting import did_you_mean
from ..core.safety import describe
from ._options import Built, Kind, Options
from .builtin_json import JSON_GRADERS
from .builtin_text import TEXT_GRADERS
from .decorator import GraderFunction
from .tool_call import KIND as TOOL_CALL


def resolve(opts: Options, reference: str) -> Any:
    """The object named by ``package.module:attribute`` (dots allowed after the colon)."""
    module_name, colon, attribute = reference.partition(":")
    if not colon or not module_name or not attribute:
        raise opts.error(f"{reference!r} is not a reference; write package.module:function")
    try:
        target: Any = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # any failure of user code at import
        raise opts.error(
            f"cannot import {module_name!r} for {reference!r}: {describe(exc)} "
            "(is it importable from the test run, e.g. via pytest's `pythonpath`?)"
        ) from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            names = [name for name in dir(target) if not name.startswith("_")]
            hint = did_you_mean(part, names)
            raise opts.error(f"{reference!r}: {module_name!r} has no {part!r}{hint}")
        target = getattr(target, part)
    return target


def build_python(opts: Options) -> Built:
    """A Python function (plain or ``@grader``-decorated) as a suite grader."""
    reference = opts.required_text("function")
    target = resolve(opts, reference)
    if not isinstance(target, GraderFunction):
        if not callable(target):
            raise opts.error(f"{reference!r} is a {type(target).__name__}, not a function")
        try:
            target = GraderFunction(target)
        except TypeError as exc:
            raise opts.error(f"{reference!r}: {exc}") from None
    return Built(target.evaluate, target.threshold, target.name, target.dimension)


BUILTINS: Mapping[str, Kind] = MappingProxyType(
    {
        **TEXT_GRADERS,
        **JSON_GRADERS,
        "python": Kind(build_python, {"function": "text"}, scalar="function"),
        "tool_call": TOOL_CALL,
    }
)
"""Every built-in grader kind by name (``llm_judge`` lives in its own module)."""
