"""The JSON Schema of ``[tool.modelguard]``, built from the settings loader's own tables.

Keys come from ``TOP_KEYS``, ``BUDGET_KEYS``, ``PROVIDER_KEYS`` and ``ALIAS_KEYS``, bounds
from ``WHOLE_RANGES`` and ``NUMBER_RANGES``, choices from the loader's tuples; a key this
module has no shape for is described as anything and named by ``undescribed()``.
"""

from __future__ import annotations

from typing import Any

from ..core.vocabulary import GATES, INTERVALS, RecordMode
from . import settings as cfg
from .provider_kinds import KIND_KEYS

DRAFT = "http://json-schema.org/draft-07/schema#"

LOADER_ONLY = (
    "models, aliases and providers resolve (PROVIDER:MODEL, a declared provider, an alias "
    "naming no other alias)",
    "a provider's keys belong to its kind and have its shapes (an AWS region, an https URL)",
    "a dollar budget needs a priced model; non-inferiority needs margin > 0",
    "an alias's price has the fields of genai-prices' prices, each a non-negative number",
    "cache_dir is not a file; numbers are not NaN; params carry no credential",
)
_FINITE = 1.7976931348623157e308  # the largest float: inf is above it
_NAME = {"type": "string", "pattern": r"\S"}
_NON_NEGATIVE = {"type": "number", "minimum": 0, "maximum": _FINITE}
_BUDGETS = {
    "type": "object",
    "properties": {key: _NON_NEGATIVE for key in cfg.BUDGET_KEYS},
    "additionalProperties": False,
}
_SHAPES: dict[str, dict[str, Any]] = {
    "baseline": _NAME,
    "models": {"anyOf": [_NAME, {"type": "array", "items": _NAME}]},
    "record": {"enum": [mode.value for mode in RecordMode]},
    "cache_dir": {"type": "string"},
    "interval": {"enum": list(INTERVALS)},
    "gate": {"enum": list(GATES)},
    "gate_on": {"enum": list(cfg.GATE_ON)},
    "drift": {"enum": list(cfg.DRIFT_MODES)},
    "judge": _NAME,
    "sequential": {"type": "boolean"},
    "adaptive_repeats": {"type": "boolean"},
    "pair_deselected": {"type": "boolean"},
    "budgets": _BUDGETS,
    "batch": {"type": "boolean", "description": "send uncached requests to provider batch APIs"},
    "batch_wait_s": {"type": "number", "exclusiveMinimum": 0},
    "batch_poll_s": {"type": "number", "exclusiveMinimum": 0},
    "batch_fallback": {"enum": list(cfg.BATCH_FALLBACKS)},
    "providers": {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "kind": {"enum": list(cfg.SDK_KINDS)},
                **{key: {"type": "string"} for key in cfg.PROVIDER_KEYS if key != "kind"},
                "batch": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
    },
    "aliases": {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "required": ["model"],
            "properties": {
                "model": {"type": "string"},
                "params": {"type": "object"},
                "price": {"type": "object"},
                "budgets": _BUDGETS,
                "batch": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
    },
    **{
        key: {"type": "integer", "minimum": low, "maximum": high}
        for key, (low, high) in cfg.WHOLE_RANGES.items()
    },
    **{
        key: {"type": "number", "minimum": low, "maximum": high}
        for key, (low, high) in cfg.NUMBER_RANGES.items()
    },
}


def undescribed() -> list[str]:
    """Settings keys the schema describes as anything: this module has no shape for them."""
    alias = _SHAPES["aliases"]["additionalProperties"]["properties"]
    missing = [key for key in cfg.TOP_KEYS if key not in _SHAPES]
    missing += [f"aliases.*.{key}" for key in cfg.ALIAS_KEYS if key not in alias]
    return missing + [f"kind {kind}" for kind in KIND_KEYS if kind not in cfg.SDK_KINDS]


def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 7) of the ``[tool.modelguard]`` table."""
    return {
        "$schema": DRAFT,
        "title": "pytest-modelguard settings ([tool.modelguard] in pyproject.toml)",
        "description": "Checked by the loader beyond this schema: " + "; ".join(LOADER_ONLY) + ".",
        "type": "object",
        "properties": {key: dict(_SHAPES.get(key, {})) for key in cfg.TOP_KEYS},
        "additionalProperties": False,
    }
