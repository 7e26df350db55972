"""Suites: ``*.modelguard.yaml`` files read into frozen records, with file:line errors."""

from __future__ import annotations

from ..core.errors import SuiteError
from .schema import REQUEST_KEYS, ROLES, Case, RecordedAnswer, Suite, claim_cases, load_suite
from .tools import combined_problem, message_problem, request_problem
from .writing import dump_yaml, indent, write_suite

__all__ = [
    "REQUEST_KEYS",
    "ROLES",
    "Case",
    "RecordedAnswer",
    "Suite",
    "SuiteError",
    "claim_cases",
    "combined_problem",
    "dump_yaml",
    "indent",
    "load_suite",
    "message_problem",
    "request_problem",
    "write_suite",
]
