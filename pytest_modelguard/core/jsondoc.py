"""JSON text read as a document a user handed us: bounded depth, valid Unicode. Pure.

``parse_document`` is the one reading policy for JSON files from outside (result files of
other tools, reports read back): a syntax error names its line, nesting deeper than
``max_depth`` and integers of more than 4,300 digits are refused, and lone surrogates
become U+FFFD. ``NaN`` and ``Infinity`` are refused only when ``finite`` is set; readers
that check each field's range leave it unset and say which field holds one.
"""

from __future__ import annotations

import json
from typing import Any

from .safety import valid_text

MAX_DEPTH = 100


class DocumentError(ValueError):
    """JSON text that is not a document we read; the message says where and why."""


def _no_constant(name: str) -> Any:
    raise DocumentError(f"{name} is not a number here")


def parse_document(text: str, *, max_depth: int = MAX_DEPTH, finite: bool = False) -> Any:
    """The value of ``text``, every string valid Unicode; DocumentError naming the line."""
    try:
        doc = json.loads(text, parse_constant=_no_constant if finite else None)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"line {exc.lineno}: not JSON ({exc.msg})") from None
    except RecursionError:
        raise DocumentError(f"nested deeper than {max_depth} levels") from None
    except DocumentError:
        raise
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise DocumentError(str(exc)) from None
    return valid_tree(doc, max_depth)


def valid_tree(value: Any, max_depth: int = MAX_DEPTH, depth: int = 0) -> Any:
    """``value`` with every string valid Unicode; DocumentError when nested too deep."""
    if depth > max_depth:
        raise DocumentError(f"nested deeper than {max_depth} levels")
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, list):
        return [valid_tree(v, max_depth, depth + 1) for v in value]
    if isinstance(value, dict):
        return {valid_text(k): valid_tree(v, max_depth, depth + 1) for k, v in value.items()}
    return value
