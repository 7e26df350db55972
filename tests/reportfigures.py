"""What two runs' JSON reports must share: everything but timings and cache hits."""

from __future__ import annotations

from typing import Any


def timeless(value: Any) -> Any:
    """``value`` without latency figures or cache hits, at any depth: those vary by run."""
    if isinstance(value, dict):
        return {
            k: timeless(v)
            for k, v in value.items()
            if not k.startswith("latency") and k != "cached"
        }
    return [timeless(v) for v in value] if isinstance(value, list) else value
