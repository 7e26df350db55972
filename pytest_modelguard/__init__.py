"""pytest-modelguard: is the cheaper model as good on your own traffic?"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .grading.decorator import grader
    from .inference.compare import Comparison, cases_needed, compare, compare_family
    from .records.calls import Completion
    from .records.grades import Grade
    from .suite import Case

__all__ = [
    "Case",
    "Comparison",
    "Completion",
    "Grade",
    "cases_needed",
    "compare",
    "compare_family",
    "grader",
]
__version__ = "0.1.0"

_EXPORTS = {
    "Case": ".suite",
    "Completion": ".records.calls",
    "Grade": ".records.grades",
    "Comparison": ".inference.compare",
    "cases_needed": ".inference.compare",
    "compare": ".inference.compare",
    "compare_family": ".inference.compare",
    "grader": ".grading.decorator",
}
"""Each name's module, imported on first use: every pytest run with the plugin installed
imports this package, and a run that uses no modelguard feature needs none of them."""


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module, __name__), name)
