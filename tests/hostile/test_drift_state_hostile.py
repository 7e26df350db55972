"""A hostile ``drift-state.json``: every input a usage error naming file, field and reset.

Each input is written over a valid state (two nights of a 20-case model); reading it
must raise `HistoryError` (exit status 4 in a run) naming the file, the field and how
to reset, and leave the file exactly as it was. A few go through a real run.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_modelguard.core.errors import HistoryError
from pytest_modelguard.verdict.drift_state import (
    STATE_FILE,
    accumulate_night,
    load_state,
    save_state,
    state_path,
)

REFERENCE = {f"c{i:02d}": [float(i % 4 != 0)] for i in range(20)}
RESET = "to reset, delete"


def valid_doc() -> dict[str, Any]:
    first = accumulate_night(None, REFERENCE, REFERENCE, 0.95)
    second = accumulate_night(first.entry, REFERENCE, REFERENCE, 0.95)
    return {
        "version": 2,
        "reference": {"name": "2026-12-01T00-00-00Z.json", "saved_at": None},
        "models": {"m": second.entry},
    }


def at(doc: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of `doc` with the field at `dotted` (keys and list indices) set to `value`,
    or removed when `value` is `DELETE`."""
    out = copy.deepcopy(doc)
    *path, last = dotted.split(".")
    node: Any = out
    for key in path:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    elif value is DELETE:
        del node[last]
    else:
        node[last] = value
    return out


DELETE = object()
D = "models.m.detector"
Edit = Callable[[dict[str, Any]], Any]


def edit(dotted: str, value: Any) -> Edit:
    return lambda doc: at(doc, dotted, value)


def raw(text: str | bytes) -> Edit:
    return lambda doc: text


def deep_models(doc: dict[str, Any]) -> dict[str, Any]:
    nested: Any = 1
    for _ in range(200):
        nested = [nested]
    return at(doc, "models.m", nested)


HOSTILE: list[tuple[str, Edit, str]] = [
    ("not-json", raw("{not json"), r"not JSON \(Expecting property name"),
    ("empty-file", raw(""), r"not JSON"),
    ("a-list", raw("[]"), r"\(top level\): not a JSON object"),
    ("null", raw("null"), r"\(top level\): not a JSON object"),
    ("not-utf8", raw(b"\xff\xfe{}"), r"not UTF-8"),
    ("nested-100k", raw("[" * 100_000 + "]" * 100_000), r"nested too deeply"),
    ("nested-in-models", deep_models, r"models\.m: not an object"),
    ("nan-total", raw("NaN"), r"NaN is not a number JSON allows"),
    ("version-missing", edit("version", DELETE), r"version: None is not 2"),
    ("version-1-old-format", edit("version", 1), r"version: 1, from an older"),
    ("version-string", edit("version", "2"), r"version: '2' is not 2"),
    ("reference-missing", edit("reference", DELETE), r"reference: missing"),
    ("reference-name-number", edit("reference.name", 5), r"reference\.name: missing"),
    ("models-list", edit("models", []), r"models: missing or not an object"),
    ("model-null", edit("models.m", None), r"models\.m: not an object"),
    ("case-id-unhashable", edit("models.m.cases.0", ["c00"]), r"cases\[0\]: not a case id"),
    ("case-ids-twice", edit("models.m.cases.1", "c00"), r"models\.m\.cases: not sorted"),
    ("cases-fewer", lambda d: at(d, "models.m.cases", d["models"]["m"]["cases"][:-1]), r"ids"),
    ("confidence-above-1", edit("models.m.confidence", 1.5), r"confidence: 1\.5 is not in"),
    ("nights-1e400", lambda d: json.dumps(d).replace('"nights": 2', '"nights": 1e400'), r"nights"),
    ("nights-negative", edit(f"{D}.nights", -4), r"detector\.nights: -4 is not in"),
    ("nights-string", edit(f"{D}.nights", "2"), r"nights: is a string, not a whole number"),
    ("nights-true", edit(f"{D}.nights", True), r"nights: is true/false"),
    ("nights-fraction", edit(f"{D}.nights", 2.5), r"nights: is a number, not a whole"),
    ("nights-missing", edit(f"{D}.nights", DELETE), r"nights: is null"),
    ("nights-not-the-level", edit(f"{D}.nights", 3), r"level\.n: 40 deltas for 3 nights"),
    ("score-negative", edit(f"{D}.reference.0", -0.1), r"reference\[0\]: -0\.1 is not in"),
    ("scores-empty", edit(f"{D}.reference", []), r"reference: has 0 entries"),
    ("anchor-short", edit(f"{D}.anchor", [0.5]), r"anchor: 1 scores for 20"),
    ("grid-empty", edit(f"{D}.level.grid", []), r"level\.grid: has 0 entries"),
    (
        "total-infinite",
        lambda d: json.dumps(at(d, f"{D}.level.total", 12345.5)).replace("12345.5", "1e400"),
        r"level\.total: inf is not in",
    ),
    (
        "total-infinity-literal",
        lambda d: json.dumps(at(d, f"{D}.level.total", 1e308 * 10)),
        r"Infinity is not a number",
    ),
    ("total-huge-int", edit(f"{D}.level.total", 10**400), r"level\.total: is too large"),
    ("n-negative", edit(f"{D}.level.n", -1), r"level\.n: -1 is not in"),
    ("tail-zero", edit(f"{D}.level.tail", 0), r"level\.tail: 0\.0 is not in"),
    ("horizon-set", edit(f"{D}.level.horizon", 5), r"level\.horizon: must be null"),
    (
        "flags-strings",
        lambda d: at(
            d, f"{D}.level.out_low", ["no"] * len(d["models"]["m"]["detector"]["level"]["grid"])
        ),
        r"level\.out_low: not \d+ true/false values",
    ),
    ("log-e-string", edit(f"{D}.log_e.0.0.0", "x"), r"log_e\[0\]\.s\[0\]: is a string"),
    ("starts-empty", edit(f"{D}.starts", []), r"starts: does not end on the last night"),
    ("starts-beyond", edit(f"{D}.starts", [1, 5]), r"starts\[1\]: 5 is not in \[1, 2\]"),
    ("bounds-rows", edit(f"{D}.bounds", [[0.5, 0.9]]), r"bounds: has 1 rows for 2 starts"),
    ("degraded-night-0", edit(f"{D}.degraded", 0), r"degraded: 0 is not in"),
    ("since-missing", edit(f"{D}.since", DELETE), r"since: missing"),
]


@pytest.mark.parametrize(
    ("name", "hostile", "message"), HOSTILE, ids=[name for name, _, _ in HOSTILE]
)
def test_a_hostile_state_is_a_usage_error_and_kept(
    tmp_path: Path, name: str, hostile: Edit, message: str
) -> None:
    content = hostile(valid_doc())
    data = content if isinstance(content, bytes) else None
    if data is None:
        text = content if isinstance(content, str) else json.dumps(content)
        data = text.encode()
    path = state_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    with pytest.raises(HistoryError) as caught:
        load_state(tmp_path)
    said = str(caught.value)
    assert said.startswith(f"{path}: ") and RESET in said, said
    assert re.search(message, said), said
    assert path.read_bytes() == data  # nothing was written over it


def test_the_valid_state_reads_back(tmp_path: Path) -> None:
    """The base every hostile input starts from is itself accepted (the tests above fail on
    the edit, not on the base)."""
    doc = valid_doc()
    save_state(tmp_path, doc)
    assert load_state(tmp_path) == json.loads(json.dumps(doc))


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_state_path_that_is_no_file_is_named(tmp_path: Path, kind: str) -> None:
    path = state_path(tmp_path)
    path.parent.mkdir(parents=True)
    if kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)
    with pytest.raises(
        HistoryError, match=rf"{re.escape(str(path))}: not a drift state: it is not"
    ):
        load_state(tmp_path)


# --- through a run: exit status 4, the file kept -------------------------------------------

ANSWERS = """
def model(request):
    return request.messages[-1]["content"].split()[-1]
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(
        ".toml",
        pyproject='[tool.modelguard]\nbaseline = "python:answers:model"\ndrift = "accumulate"\n',
    )
    pytester.makefile(".ini", pytest="[pytest]\npythonpath = .\n")
    cases = "".join(f"  - {{id: c{i}, prompt: 'say w{i}', expected: w{i}}}\n" for i in range(8))
    pytester.makefile(
        ".modelguard.yaml",
        s=f"suite: s\ndefaults:\n  graders:\n    - equals: {{}}\ncases:\n{cases}",
    )
    args = ("-p", "no:cacheprovider", "--modelguard-record", "all")
    assert pytester.runpytest(*args, "--modelguard-save").ret == pytest.ExitCode.OK
    assert pytester.runpytest(*args, "--modelguard-compare", "last").ret == pytest.ExitCode.OK
    return pytester


def _run_with(project: pytest.Pytester, change: Callable[[Path], None]) -> pytest.RunResult:
    path = project.path / ".modelguard" / "runs" / STATE_FILE
    change(path)
    before = path.read_bytes() if path.is_file() else None
    result = project.runpytest(
        "-p", "no:cacheprovider", "--modelguard-record", "all", "--modelguard-compare", "last"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "Traceback" not in result.stderr.str() and "INTERNALERROR" not in result.stdout.str()
    assert (path.read_bytes() if path.is_file() else None) == before
    return result


def _rewrite(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def test_unknown_case_ids_stop_the_run(project: pytest.Pytester) -> None:
    def rename(doc: dict[str, Any]) -> None:
        doc["models"]["python:answers:model"]["cases"][-1] = "s\x00zz-unknown"

    result = _run_with(project, lambda path: _rewrite(path, rename))
    result.stderr.fnmatch_lines(
        ["*models.python:answers:model.cases: 1 ids not in the reference run*to reset*"]
    )


def test_an_old_format_state_says_to_reset(project: pytest.Pytester) -> None:
    result = _run_with(project, lambda path: _rewrite(path, lambda d: d.update(version=1)))
    result.stderr.fnmatch_lines(["*version: 1, from an older pytest-modelguard*to reset, delete*"])


def test_a_directory_in_place_of_the_state_stops_the_run(project: pytest.Pytester) -> None:
    def swap(path: Path) -> None:
        path.unlink()
        path.mkdir()

    result = _run_with(project, swap)
    result.stderr.fnmatch_lines(["*drift-state.json: not a drift state: it is not a regular file*"])


def test_a_state_broken_while_the_run_asks_stops_it_at_the_end(project: pytest.Pytester) -> None:
    """Valid when the run starts, broken before it finishes: exit 4 naming it, kept."""
    project.makeconftest(
        "import pathlib\n"
        "def pytest_collection_finish(session):\n"
        "    pathlib.Path('.modelguard/runs/drift-state.json').write_text('{broken')\n"
    )
    result = project.runpytest(
        "-p", "no:cacheprovider", "--modelguard-record", "all", "--modelguard-compare", "last"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["ERROR: *drift-state.json: not a drift state: not JSON*"])
    assert (project.path / ".modelguard" / "runs" / STATE_FILE).read_text() == "{broken"
