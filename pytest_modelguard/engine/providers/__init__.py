"""Providers answer Requests: openai, anthropic (their SDKs) and python (a function).

The package face: the factory and the retry rules the runner needs. The shared SDK
logic is in ``_sdk.py``; SDK modules are imported lazily, so importing this stays cheap.
"""

from __future__ import annotations

from ._sdk import is_transient_status, parse_retry_after
from .factory import KINDS, make_provider

__all__ = ["KINDS", "is_transient_status", "make_provider", "parse_retry_after"]
