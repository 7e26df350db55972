"""What the plugin's modules keep on pytest objects: the session on the config."""

from __future__ import annotations

import pytest

from .session import ModelguardSession

SESSION = pytest.StashKey[ModelguardSession]()


def session_of(config: pytest.Config) -> ModelguardSession:
    return config.stash[SESSION]
