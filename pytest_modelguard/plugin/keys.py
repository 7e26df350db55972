"""What the plugin's modules keep on pytest objects (the session on the config); the marker."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .session import ModelguardSession

SESSION: pytest.StashKey[ModelguardSession] = pytest.StashKey()
MARKER = "modelguard"  # @pytest.mark.modelguard: a Python test over models (and cases)


def session_of(config: pytest.Config) -> ModelguardSession:
    return config.stash[SESSION]
