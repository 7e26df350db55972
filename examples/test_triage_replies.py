"""A Python test over the triage suite: `model` and `case` come from pytest-modelguard.

Each (case, model) pair runs once; `model.complete` replays the recorded answer
(the same request the YAML suite makes, so no extra recording is needed), and the
`@grader` calls record their scores for the gate, as a separate check
("support-triage::test_reply_is_one_known_category") beside the suite's own.
"""

from __future__ import annotations

import pytest

from pytest_modelguard import grader

CATEGORIES = {"billing", "bug", "account", "shipping", "other"}


@grader
def is_one_known_category(answer: str) -> bool:
    """The reply is exactly one category name: anything else breaks the ticket router."""
    return answer.strip().lower() in CATEGORIES


@pytest.mark.modelguard(suite="triage.modelguard.yaml")
def test_reply_is_one_known_category(model, case):
    answer = model.complete(case.messages)
    assert is_one_known_category(answer)
