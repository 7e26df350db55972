"""pytest-modelguard: is the cheaper model as good on your own traffic?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .grading.decorator import grader
from .records.calls import Completion
from .records.grades import Grade
from .suite import Case

if TYPE_CHECKING:
    from .verdict.compare import compare

__all__ = ["Case", "Completion", "Grade", "compare", "grader"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``compare`` on first use: it brings numpy, which a plain pytest run never needs."""
    if name == "compare":
        from .verdict.compare import compare

        return compare
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
