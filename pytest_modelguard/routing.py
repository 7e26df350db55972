"""Public face of the runtime router: ``from pytest_modelguard.routing import Router``."""

from __future__ import annotations

from .verdict.router import Router

__all__ = ["Router"]
