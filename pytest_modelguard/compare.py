"""Public face of the verdict API: ``from pytest_modelguard.compare import compare``.

``from pytest_modelguard import compare`` gives the function; once this module has been
imported that name is the module instead, so the module is callable as ``compare`` too.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .inference.compare import *  # noqa: F403
from .inference.compare import __all__ as __all__
from .inference.compare import compare as _compare


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _compare(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
