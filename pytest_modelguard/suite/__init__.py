"""Suites: ``*.modelguard.yaml`` files read into frozen records, with file:line errors."""

from __future__ import annotations

from ..core.errors import SuiteError
from .schema import REQUEST_KEYS, ROLES, Case, RecordedAnswer, Suite, load_suite

__all__ = ["REQUEST_KEYS", "ROLES", "Case", "RecordedAnswer", "Suite", "SuiteError", "load_suite"]
