"""Suites: ``*.modelguard.yaml`` files read into frozen records, with file:line errors."""

from __future__ import annotations

from ..core.errors import SuiteError
from .schema import ROLES, Case, RecordedAnswer, Suite, load_suite

__all__ = ["ROLES", "Case", "RecordedAnswer", "Suite", "SuiteError", "load_suite"]
