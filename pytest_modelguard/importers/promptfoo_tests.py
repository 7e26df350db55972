"""promptfoo ``tests`` → flat tests: inline, ``file://`` CSV/JSONL/YAML/JSON (globs too),
``defaultTest`` merged in, ``file://`` var values read, list-valued vars expanded.

A CSV row follows promptfoo's ``testCaseFromCsvRow``: ``__expected``, ``__expected1``…
are asserts written as strings (``icontains:bonjour``, ``llm-rubric:…``, ``not-regex:…``,
``similar(0.9):…``; a bare text is ``equals``), ``__description``, ``__metric`` (every
assert's metric), ``__threshold``, ``__prefix``/``__suffix``, ``__metadata:key``,
``__config:__expectedN:threshold``; every other column is a var.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import SuiteError
from ..suite.yaml_loader import LineList
from .findings import Findings
from .promptfoo_schema import assertion_types
from .sources import FILE_PREFIX, Files, line_of

MAX_TESTS = 100_000
"""More tests (after list-valued vars expand) is a usage error: a suite that size is a mistake."""
TEST_KEYS = frozenset(("description", "vars", "assert", "options", "threshold", "metadata"))
OPTION_KEYS = frozenset(("prefix", "suffix", "provider"))
"""Test options that map: the prompt's prefix and suffix, the grading provider (the judge)."""
_ASSERT_STRING = re.compile(r"^(not-)?([a-z][a-z0-9:-]*?)(?:\((\d+(?:\.\d+)?)\))?(?::([\s\S]*))?$")
_LIST_TYPES = ("contains-all", "contains-any", "icontains-all", "icontains-any")
_THRESHOLD_TYPES = ("cost", "latency", "levenshtein", "similar", "starts-with", "rouge-n")
_TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".xml", ".csv", ".j2", ".njk", "")


@dataclass
class Test:
    """One promptfoo test after defaultTest, ready to pair with each prompt."""

    where: str
    description: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    asserts: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    prompts: tuple[str, ...] = ()  # the prompt labels it applies to; () means all
    unmapped: list[str] = field(default_factory=list)  # keys with no equivalent


def _at(files: Files, path: Path, line: int) -> str:
    return f"{files.shown(path)}:{line}"


def assertion_from_string(text: str) -> dict[str, Any]:
    """promptfoo's ``assertionFromString``: a CSV cell → an assert."""
    for prefix in ("javascript:", "fn:", "eval:"):
        if text.startswith(prefix):
            return {"type": "javascript", "value": text[len(prefix) :].strip()}
    for prefix in ("grade:", "llm-rubric:"):
        if text.startswith(prefix):
            return {"type": "llm-rubric", "value": text[len(prefix) :]}
    if text.startswith("python:") or (text.startswith(FILE_PREFIX) and ".py" in text):
        return {"type": "python", "value": text.split(":", 1)[1].strip()}
    found = _ASSERT_STRING.match(text)
    if found is None or found[2] not in assertion_types():
        return {"type": "equals", "value": text}
    inverse, kind, threshold, value = found.groups()
    assertion: dict[str, Any] = {"type": f"{inverse or ''}{kind}"}
    if kind in _LIST_TYPES:
        assertion["value"] = [part.strip() for part in value.split(",")] if value else value
    elif kind in ("contains-json", "is-json"):
        assertion["value"] = value
    else:
        assertion["value"] = value.strip() if value is not None else None
    if kind in _THRESHOLD_TYPES:
        assertion["threshold"] = (
            float(threshold) if threshold else (0.8 if kind == "similar" else 0.75)
        )
    return assertion


def test_from_row(row: Mapping[str, str], where: str, findings: Findings) -> dict[str, Any]:
    """A CSV row → an inline test (promptfoo's special ``__`` columns read as it reads them)."""
    test: dict[str, Any] = {"vars": {}, "assert": [], "options": {}}
    metric = None
    configs: dict[int, float] = {}
    for key, value in row.items():
        if key.startswith("__expected"):
            if value.strip():
                test["assert"].append(assertion_from_string(value.strip()))
        elif key == "__description":
            test["description"] = value
        elif key in ("__prefix", "__suffix"):
            test["options"][key[2:]] = value
        elif key == "__metric":
            metric = value or None
        elif key == "__threshold":
            test["threshold"] = value
        elif key.startswith("__metadata"):
            if value.strip():
                findings.note(where, "__metadata columns are kept as nothing (no suite key)")
        elif key.startswith("__config:"):
            parts = key.split(":")
            target = parts[1].removeprefix("__expected") if len(parts) == 3 else "x"
            number = _float(value)
            if parts[-1] != "threshold" or not (target == "" or target.isdigit()) or number is None:
                raise SuiteError(f"{where}: column {key!r}: write __config:__expectedN:threshold")
            configs[int(target or 1) - 1] = number
        elif key.startswith("__"):
            findings.miss(where, f"CSV column {key}")
        else:
            test["vars"][key] = value
    for index, assertion in enumerate(test["assert"]):
        if metric:
            assertion["metric"] = metric
        if index in configs:
            assertion["threshold"] = configs[index]
    return test


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


class TestReader:
    """Reads a config's ``tests`` into flat ``Test`` records, counting what cannot map."""

    def __init__(self, files: Files, config: str, findings: Findings) -> None:
        self.files = files
        self.config = config  # the config file as shown
        self.findings = findings

    def read(self, node: Any, default: Any, where: str) -> list[Test]:
        """The tests of ``node`` (the config's ``tests``, written at ``where``)."""
        base = self._default(default)
        tests = []
        for at, raw in self._raw_tests(node, line_of(node, None, where)):
            tests.extend(self._expanded(at, raw, base))
            if len(tests) > MAX_TESTS:
                raise SuiteError(f"{at}: more than {MAX_TESTS:,} tests; import a part")
        return tests

    def _default(self, node: Any) -> dict[str, Any]:
        where = f"{self.config}:1"
        if isinstance(node, str):
            path = self.files.refer(node, where)[0]
            node = self.files.structured(path, where)
            where = _at(self.files, path, 1)
        if node is None:
            return {}
        if not isinstance(node, Mapping):
            raise SuiteError(f"{where}: defaultTest must be a mapping")
        return {"node": node, "where": line_of(node, None, where)}

    def _raw_tests(self, node: Any, where: str) -> Iterator[tuple[str, Any]]:
        if node is None:
            return
        if isinstance(node, str) or (isinstance(node, Mapping) and "path" in node):
            yield from self._from_ref(node, where)
            return
        if not isinstance(node, list):
            raise SuiteError(f"{where}: tests must be a list, a file:// path or {{path: ...}}")
        lines = getattr(node, "item_lines", [])
        for index, item in enumerate(node):
            at = f"{where.rsplit(':', 1)[0]}:{lines[index]}" if index < len(lines) else where
            if isinstance(item, str) or (isinstance(item, Mapping) and set(item) == {"path"}):
                yield from self._from_ref(item, at)
            else:
                yield at, item

    def _from_ref(self, ref: Any, where: str) -> Iterator[tuple[str, Any]]:
        if isinstance(ref, Mapping):
            if ref.get("config"):
                self.findings.miss(where, "tests {path, config} options")
            ref = ref["path"]
        if not isinstance(ref, str):
            raise SuiteError(f"{where}: a tests path must be a string")
        for path in self.files.refer(ref, where):
            suffix = path.suffix.lower()
            if suffix == ".csv":
                for line, row in self.files.csv(path, where):
                    at = _at(self.files, path, line)
                    yield at, test_from_row(row, at, self.findings)
            elif suffix == ".jsonl":
                for line, record in self.files.jsonl(path, where):
                    yield _at(self.files, path, line), record
            elif suffix in (".yaml", ".yml", ".json"):
                data = self.files.structured(path, where)
                yield from self._raw_tests(data, _at(self.files, path, getattr(data, "line", 1)))
            else:
                raise SuiteError(
                    f"{where}: {ref!r}: tests are read from .csv, .jsonl, .yaml or .json files "
                    "(a .js or .py test generator cannot be imported)"
                )

    def _expanded(self, where: str, raw: Any, base: Mapping[str, Any]) -> list[Test]:
        if not isinstance(raw, Mapping):
            raise SuiteError(f"{where}: a test must be a mapping, got {type(raw).__name__}")
        default = base.get("node", {})
        test = Test(where=where, description=_text(raw.get("description")))
        for key in sorted(set(raw) - TEST_KEYS - {"prompts"}):
            test.unmapped.append(f"test key {key}")
        for key in sorted(set(default) - TEST_KEYS):
            test.unmapped.append(f"defaultTest key {key}")
        chosen = raw.get("prompts") or ()
        test.prompts = (chosen,) if isinstance(chosen, str) else tuple(str(p) for p in chosen)
        test.asserts = self._asserts(default, base.get("where", where)) + self._asserts(raw, where)
        options = {**_mapping(default.get("options")), **_mapping(raw.get("options"))}
        for key in sorted(set(options) - OPTION_KEYS):
            test.unmapped.append(f"options.{key}")
        test.options = {k: v for k, v in options.items() if k in OPTION_KEYS}
        if raw.get("threshold") is not None or default.get("threshold") is not None:
            test.unmapped.append("test threshold (a case has no pass mark of its own)")
        defaults = self._vars(default.get("vars"), base.get("where", where))
        values = {**defaults, **self._vars(raw.get("vars"), where)}
        values = {k: self._var(k, v, where, test) for k, v in values.items()}
        combos = _combinations(values)
        if len(combos) > MAX_TESTS:
            raise SuiteError(f"{where}: list-valued vars expand to more than {MAX_TESTS:,} tests")
        out = []
        for number, combo in enumerate(combos):
            each = Test(**{**test.__dict__, "vars": combo, "unmapped": list(test.unmapped)})
            if len(combos) > 1:
                each.description = f"{test.description or 'vars'} #{number + 1}"
            out.append(each)
        return out

    def _asserts(self, node: Mapping[str, Any], where: str) -> list[tuple[str, Mapping[str, Any]]]:
        items = node.get("assert") or []
        if not isinstance(items, list):
            raise SuiteError(f"{line_of(node, 'assert', where)}: assert must be a list")
        lines = items.item_lines if isinstance(items, LineList) else []
        out = []
        for index, item in enumerate(items):
            at = f"{where.rsplit(':', 1)[0]}:{lines[index]}" if index < len(lines) else where
            if not isinstance(item, Mapping):
                raise SuiteError(f"{at}: an assert must be a mapping with a type")
            out.append((at, item))
        return out

    def _vars(self, node: Any, where: str) -> dict[str, Any]:
        if node is None:
            return {}
        if isinstance(node, str) and node.startswith(FILE_PREFIX):
            path = self.files.refer(node, where)[0]
            node = self.files.structured(path, where)
        if not isinstance(node, Mapping):
            raise SuiteError(f"{where}: vars must be a mapping")
        return dict(node)

    def _var(self, name: str, value: Any, where: str, test: Test) -> Any:
        """A var's value; a ``file://`` value is the file's text (YAML/JSON: its data)."""
        if not (isinstance(value, str) and value.startswith(FILE_PREFIX)):
            return value
        paths = self.files.refer(value, where)
        suffix = paths[0].suffix.lower()
        if suffix in (".yaml", ".yml", ".json"):
            return self.files.structured(paths[0], where)
        if suffix not in _TEXT_SUFFIXES:
            test.unmapped.append(f"var from a {suffix} file (scripts, images, PDFs)")
            return ""
        return self.files.raw(paths[0], where)


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _combinations(values: dict[str, Any]) -> list[dict[str, Any]]:
    """promptfoo's expansion: one test per combination of the list-valued vars."""
    lists = {k: v for k, v in values.items() if isinstance(v, list) and v}
    if not lists:
        return [values]
    size = 1
    for items in lists.values():
        size *= len(items)
        if size > MAX_TESTS:
            return [values] * (MAX_TESTS + 1)
    return [
        {**values, **dict(zip(lists, combo, strict=True))}
        for combo in itertools.product(*lists.values())
    ]
