"""Every error modelguard raises on purpose, in one tree under ``ModelguardError``.

Each message is meant for the user as it is: it names the file, key or model at fault
and how to fix it, so the plugin prints it without a traceback. The built-in base beside
``ModelguardError`` says what kind of mistake it is (``ValueError``: bad input).

    ModelguardError
    ├── ConfigError            [tool.modelguard] or a flag is wrong (ValueError)
    ├── SuiteError             a suite file is wrong; starts with ``path:line`` (ValueError)
    ├── FileRefused            a file not read: not regular, or too large (ValueError)
    ├── GraderConfigError      a grader entry is wrong (ValueError)
    ├── BadGrade               a grader function returned something that is not a grade
    ├── JudgeParseError        a judge reply without one clean verdict line (ValueError)
    ├── JudgeFailed            the judge could not grade an answer (its call or its reply)
    ├── GraderFailed           a grader raised at grade time: the item is an error
    ├── ProviderError          a model call failed (records.calls: it travels with answers)
    ├── ModelCallFailed        ``model.complete`` got no answer (the plugin's item form:
    │                          plugin.items.ModelCallError, a pytest outcome)
    ├── CacheError             the answer cache cannot be used (OSError)
    ├── CorruptEntryError      a cache file that is not a valid entry (ValueError)
    ├── HistoryError           a stored run cannot be found or read (ValueError)
    ├── TraceDbError           a traces database cannot be read
    ├── ExportError            an export cannot be written
    └── ScoreFileError         a result file ``modelguard compare`` reads is wrong (ValueError)

``ModelguardWarning`` is what a run must tell that is not an item's result.
"""

from __future__ import annotations


class ModelguardError(Exception):
    """Base of every error modelguard raises on purpose; its message is for the user."""


class ModelguardWarning(UserWarning):
    """Something a run must tell that is not an item's result (e.g. answers not saved)."""


class ConfigError(ModelguardError, ValueError):
    """Bad configuration; the message names the file and key and says how to fix it."""


class SuiteError(ModelguardError, ValueError):
    """A suite written wrongly; the message starts with ``path:line``."""


class FileRefused(ModelguardError, ValueError):
    """A file that is not read: not a regular file, or too large."""


class GraderConfigError(ModelguardError, ValueError):
    """A grader written wrongly in a suite; the message names file, line and key."""


class BadGrade(ModelguardError, ValueError):
    """A grader function returned something that is not a grade."""


class JudgeParseError(ModelguardError, ValueError):
    """A judge reply without one clean final verdict line; the message quotes the reply."""

    def __init__(self, message: str, *, reply: str, order: str) -> None:
        super().__init__(message)
        self.reply = reply
        self.order = order


class JudgeFailed(ModelguardError):
    """The judge could not grade an answer: its call failed, or its reply made no sense."""


class GraderFailed(ModelguardError):
    """A grader raised or was misconfigured at grade time: its item is an error, not a score."""


class ModelCallFailed(ModelguardError):
    """``model.complete`` could not get an answer (after retries, or none recorded)."""


class BatchesPending(ModelguardError):
    """The run's provider batches were not done within ``batch_wait_s``: no verdict yet."""


class CacheError(ModelguardError, OSError):
    """The cache (or its lock directory) cannot be used; the message says which and why."""


class CorruptEntryError(ModelguardError, ValueError):
    """A cache file that is not a valid entry; the message names the file."""


class HistoryError(ModelguardError, ValueError):
    """A stored run that cannot be found or read; the message names the file."""


class TraceDbError(ModelguardError):
    """A traces database that cannot be read; the message names the file and the fix."""


class ExportError(ModelguardError):
    """An export that cannot be written; the message says why and what to do."""


class ScoreFileError(ModelguardError, ValueError):
    """A result file given to ``modelguard compare`` cannot be read as per-case scores."""
