"""pytest-modelguard: is the cheaper model as good on your own traffic?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .grading.decorator import grader
from .records.calls import Completion
from .records.grades import Grade
from .suite import Case

if TYPE_CHECKING:
    from .verdict.compare import Comparison, cases_needed, compare, compare_family

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
_VERDICT = ("Comparison", "cases_needed", "compare", "compare_family")


def __getattr__(name: str) -> Any:
    """The verdict API on first use: it brings numpy, which a plain pytest run never needs."""
    if name in _VERDICT:
        from .verdict import compare

        return getattr(compare, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
