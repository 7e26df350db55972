"""Settings: ``[tool.modelguard]`` in pyproject.toml plus the command line, resolved to models."""

from __future__ import annotations

from ..core.errors import ConfigError
from .settings import (
    MAX_SEED,
    Budgets,
    ModelSpec,
    Overrides,
    ProviderSpec,
    Settings,
    load_settings,
    read_pyproject,
)

__all__ = [
    "MAX_SEED",
    "Budgets",
    "ConfigError",
    "ModelSpec",
    "Overrides",
    "ProviderSpec",
    "Settings",
    "load_settings",
    "read_pyproject",
]
