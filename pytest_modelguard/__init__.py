"""pytest-modelguard: is the cheaper model as good on your own traffic?"""

from __future__ import annotations

from .graders.base import Grade
from .graders.decorator import grader
from .providers.base import Completion
from .suite import Case

__all__ = ["Case", "Completion", "Grade", "grader"]
__version__ = "0.1.0"
