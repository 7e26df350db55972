"""What the plugin's modules keep on pytest objects (the session on the config); the marker."""

from __future__ import annotations

import pytest

from .session import ModelguardSession

SESSION = pytest.StashKey[ModelguardSession]()
MARKER = "modelguard"  # @pytest.mark.modelguard: a Python test over models (and cases)


def session_of(config: pytest.Config) -> ModelguardSession:
    return config.stash[SESSION]
