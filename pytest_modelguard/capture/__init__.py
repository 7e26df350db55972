"""Capture production calls into SQLite, and export them as suites.

from pytest_modelguard.capture import capture
client = capture(openai.OpenAI(), db="traces.db", tags=["support"])
"""

from __future__ import annotations

from ..core.errors import TraceDbError
from .read import TraceDb, TraceFilter
from .store import Redactor, Trace, TraceStore
from .wrap import capture

__all__ = ["Redactor", "Trace", "TraceDb", "TraceDbError", "TraceFilter", "TraceStore", "capture"]
