"""Built-in graders, the registry's build-time checks, and how grades combine into a score."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_modelguard.core.errors import GraderConfigError
from pytest_modelguard.grading import (
    Answer,
    Grade,
    GradeFn,
    GraderSpec,
    build_grader,
    grader_names,
    score_answer,
)
from pytest_modelguard.records.grades import dimension_scores

SOURCE = "examples/triage.modelguard.yaml:14"


def full_width(text: str) -> str:
    """ASCII letters as their full-width forms (what NFKC folds back)."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


def build(name: str, options: Any = None, **settings: Any) -> GradeFn:
    return build_grader(GraderSpec(name=name, options=options, source=SOURCE, **settings))


def grade(name: str, options: Any, output: str, **answer: Any) -> Grade:
    return build(name, options)(Answer(output, case_id="t-001", **answer))


def config_error(name: str, options: Any = None, **settings: Any) -> str:
    with pytest.raises(GraderConfigError) as info:
        build(name, options, **settings)
    message = str(info.value)
    assert message.startswith(SOURCE + ": ")
    return message


# -- registry and the keys beside a grader ------------------------------------------------


def test_grader_names_lists_every_builtin() -> None:
    assert grader_names() == [
        "contains", "equals", "json_field", "json_schema", "json_valid", "length",
        "llm_judge", "numeric", "python", "regex", "similarity", "steps", "tool_call",
        "trajectory",
    ]  # fmt: skip


def test_unknown_grader_suggests_the_near_miss() -> None:
    assert config_error("equal") == f"{SOURCE}: unknown grader 'equal' (did you mean 'equals'?)"


def test_unknown_grader_without_near_miss_lists_the_known_ones() -> None:
    assert "known graders: contains, equals," in config_error("sentiment")


def test_unknown_option_suggests_the_near_miss_and_lists_options() -> None:
    message = config_error("contains", {"any": ["x"], "case_sensitiv": True})
    assert "unknown option 'case_sensitiv' (did you mean 'case_sensitive'?)" in message
    assert "options: any, all, none, case_sensitive" in message


def test_unknown_key_beside_the_grader_suggests_a_reserved_key() -> None:
    message = config_error("contains", "x", extra={"wieght": 2})
    assert "unknown key 'wieght' (did you mean 'weight'?)" in message


def test_option_written_beside_the_grader_hints_at_indentation() -> None:
    message = config_error("contains", "x", extra={"case_sensitive": True})
    assert "indent it under `contains:`" in message


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"weight": -1}, "weight"),
        ({"threshold": 1.5}, "threshold"),
        ({"dimension": ""}, "dimension"),
    ],
)
def test_bad_entry_settings_are_rejected(settings: dict[str, Any], key: str) -> None:
    assert f"contains: {key} must be" in config_error("contains", "x", **settings)


def test_scalar_option_for_a_mapping_only_grader_is_rejected() -> None:
    message = config_error("json_valid", True)
    assert "json_valid: takes a mapping of options (strict, anywhere)" in message


def test_entry_settings_reach_the_grade() -> None:
    fn = build("contains", "x", weight=2, required=True, dimension="tone", threshold=0.0)
    result = fn(Answer("y"))
    assert (result.weight, result.required, result.dimension, result.threshold) == (
        2.0, True, "tone", 0.0,
    )  # fmt: skip
    assert result.passed and result.score == 0.0


# -- equals --------------------------------------------------------------------------------


def test_equals_compares_with_the_case_expected() -> None:
    assert grade("equals", None, "billing", expected="billing")
    failed = grade("equals", None, "bug", expected="billing")
    assert not failed and failed.score == 0.0
    assert failed.reason == "expected 'billing', got 'bug'"


def test_equals_normalize_is_order_independent() -> None:
    for steps in (["strip", "lower"], ["lower", "strip"]):
        assert grade("equals", {"normalize": steps}, "  Billing\n", expected="billing")


@pytest.mark.parametrize(
    ("steps", "output", "expected"),
    [
        (["nfkc", "lower"], full_width("BILLING"), "billing"),
        (["strip_accents", "lower"], "Café Crème", "cafe creme"),
        (["lower"], "STRASSE", "straße"),  # casefold, not just lower
        (["strip_punctuation"], "¡Hola, mundo!", "Hola mundo"),
        (["collapse_whitespace", "strip"], " a \t b\n\n c ", "a b c"),
        (["strip"], "請求 ", "請求"),
    ],
)
def test_equals_unicode_normalizers(steps: list[str], output: str, expected: str) -> None:
    assert grade("equals", {"normalize": steps}, output, expected=expected)


def test_equals_without_nfkc_keeps_full_width_distinct() -> None:
    assert not grade("equals", {"normalize": ["lower"]}, full_width("BILLING"), expected="billing")


def test_equals_accepts_a_list_of_answers_and_an_expected_option() -> None:
    assert grade("equals", None, "refund", expected=["billing", "refund"])
    assert grade("equals", "billing", "billing", expected="bug")  # the option wins
    failed = grade("equals", None, "bug", expected=["billing", "refund"])
    assert failed.reason == "expected one of 'billing', 'refund', got 'bug'"


def test_equals_compares_scalars_as_text() -> None:
    assert grade("equals", None, "42", expected=42)
    assert grade("equals", None, "true", expected=True)


def test_equals_empty_output() -> None:
    assert grade("equals", None, "", expected="")
    assert grade("equals", None, "", expected="x").reason == "expected 'x', got ''"


def test_equals_without_expected_is_a_clear_error() -> None:
    with pytest.raises(GraderConfigError, match=r"^examples/.*:14: equals: case 't-001' has"):
        grade("equals", None, "x")


def test_equals_rejects_a_mapping_expected() -> None:
    assert "use json_field" in config_error("equals", {"expected": {"a": 1}})


def test_equals_unknown_normalizer_suggests() -> None:
    message = config_error("equals", {"normalize": ["lowr"]})
    assert "unknown normalizer 'lowr' (did you mean 'lower'?)" in message


# -- contains ------------------------------------------------------------------------------


def test_contains_scalar_means_any_and_ignores_case() -> None:
    assert grade("contains", "Refund", "we will REFUND you")
    assert not grade("contains", {"any": "refund", "case_sensitive": True}, "REFUND")


def test_contains_all_gives_partial_credit() -> None:
    result = grade("contains", {"all": ["refund", "credit", "policy"]}, "refund and credit")
    assert result.score == pytest.approx(2 / 3) and not result.passed
    assert result.reason == "missing 'policy' (2/3 found)"
    assert build("contains", {"all": ["refund", "credit", "policy"]}, threshold=0.6)(
        Answer("refund and credit")
    )


def test_contains_none_and_combined_parts_take_the_lowest() -> None:
    assert grade("contains", {"none": ["sorry"]}, "Sorry!").reason == "found forbidden 'sorry'"
    options = {"any": ["refund", "credit"], "all": ["a", "b"], "none": ["never"]}
    result = grade("contains", options, "a refund b")
    assert result.score == 1.0 and result.reason == "found 'refund'; all 2 found; no forbidden term"
    assert grade("contains", options, "a refund b never").score == 0.0


def test_contains_unicode_casefold_nfc_and_cjk() -> None:
    assert grade("contains", "straße", "STRASSE")
    assert grade("contains", "café", "cafe\u0301")  # decomposed é
    assert grade("contains", "退款", "我们会给您退款。")


@pytest.mark.parametrize("options", [{}, {"any": []}, {"any": {"a": 1}}, {"case_sensitive": True}])
def test_contains_bad_options(options: dict[str, Any]) -> None:
    config_error("contains", options)


# -- regex ---------------------------------------------------------------------------------


def test_regex_search_full_flags_negate() -> None:
    assert grade("regex", r"INV-\d+", "see INV-042 now")
    assert not grade("regex", {"pattern": r"INV-\d+", "match": "full"}, "see INV-042")
    assert grade("regex", {"pattern": "^billing$", "flags": "im"}, "x\nBILLING\ny")
    negated = grade("regex", {"pattern": r"\bsorry\b", "negate": True, "flags": ["i"]}, "Sorry!")
    assert not negated and negated.reason.startswith("forbidden: ")


def test_bad_regex_fails_at_build_time_naming_the_pattern() -> None:
    message = config_error("regex", "(unclosed")
    assert "regex: bad pattern '(unclosed': missing ): (unclosed" in message


@pytest.mark.parametrize("pattern", [r"(\w)\1", r"(?<=a)b", r"a(?!b)"])
def test_backtracking_constructs_are_refused_with_the_reason(pattern: str) -> None:
    assert "RE2 has no lookarounds or backreferences" in config_error("regex", pattern)


def test_catastrophic_patterns_run_in_linear_time() -> None:
    """Python's re takes longer than the universe's age on these; RE2 answers at once."""
    outcome: list[bool] = []
    patterns = [r"(a+)+$", r"(a|aa)+$", r"^(\w+\s?)*$"]
    outputs = ["a" * 50_000 + "!", "word " * 20_000 + "!"]

    def grade_all() -> None:
        outcome.extend(bool(grade("regex", p, o)) for p in patterns for o in outputs)

    worker = threading.Thread(target=grade_all, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert outcome == [False, False, False, False, False, False]


def test_regex_positions_count_characters_not_bytes() -> None:
    found = grade("regex", "é+", "cafééé")
    assert found and found.reason.endswith("matched 'ééé' at 3")


def test_regex_unknown_flag_and_match_mode() -> None:
    assert "unknown flag 'q'" in config_error("regex", {"pattern": "x", "flags": "iq"})
    assert "'x' (verbose) is not supported by RE2" in config_error(
        "regex", {"pattern": "x", "flags": "x"}
    )
    assert "(did you mean 'full'?)" in config_error("regex", {"pattern": "x", "match": "ful"})
    assert "option 'pattern' is required" in config_error("regex", {"flags": "i"})


# -- json_valid ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "output",
    ['{"a": 1}', " [1, 2] ", '```json\n{"a": 1}\n```', "```\n[1]\n```\n", '```JSON\n"x"\n```'],
)
def test_json_valid_accepts_plain_and_fenced_json(output: str) -> None:
    assert grade("json_valid", None, output)


@pytest.mark.parametrize(
    "output",
    ["", "{'a': 1}", '{"a": NaN}', 'Here it is:\n```json\n{"a": 1}\n```', "[" * 100_000],
)
def test_json_valid_rejects_invalid_json_with_a_reason(output: str) -> None:
    result = grade("json_valid", None, output)
    assert not result and result.reason.startswith("invalid JSON: ")
    assert len(result.reason) < 200


def test_json_valid_strict_disables_fence_stripping() -> None:
    assert not grade("json_valid", {"strict": True}, '```json\n{"a": 1}\n```')


def test_json_valid_reason_gives_the_position() -> None:
    # The parser's wording (and, for some errors, its column) differs between Python
    # versions: this asserts our format, "invalid JSON: <why> at line L column C of <text>".
    reason = grade("json_valid", None, '{\n  "a": 1,\n  "b": }').reason
    assert re.fullmatch(r"invalid JSON: \S.* at line 3 column 8 of .+", reason), reason


def test_json_valid_reason_carries_the_parsers_own_position() -> None:
    text = '{"a": 1,}'  # 3.11 and 3.12 point at the "}" (column 9), 3.13 at the "," (column 8)
    with pytest.raises(json.JSONDecodeError) as raised:
        json.loads(text)
    reason = grade("json_valid", None, text).reason
    position = f"line {raised.value.lineno} column {raised.value.colno}"
    assert reason.startswith(f"invalid JSON: {raised.value.msg} at {position} of "), reason


# -- json_schema ---------------------------------------------------------------------------

INVOICE = {
    "type": "object",
    "required": ["id", "items"],
    "properties": {
        "id": {"type": "string"},
        "items": {"type": "array", "items": {"properties": {"total": {"type": "number"}}}},
    },
}


def test_json_schema_inline_passes_and_fails_with_the_first_error() -> None:
    assert grade("json_schema", {"schema": INVOICE}, '```json\n{"id": "1", "items": []}\n```')
    result = grade("json_schema", {"schema": INVOICE}, '{"id": "1", "items": [{"total": "x"}]}')
    assert not result and result.reason == "$.items[0].total: 'x' is not of type 'number'"
    assert grade("json_schema", {"schema": INVOICE}, "nope").reason.startswith("invalid JSON")


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_json_schema_ref_is_read_relative_to_base_dir(tmp_path: Path, suffix: str) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / f"invoice{suffix}").write_text(json.dumps(INVOICE))
    fn = build("json_schema", {"$ref": f"schemas/invoice{suffix}"}, base_dir=str(tmp_path))
    assert fn(Answer('{"id": "1", "items": []}'))
    assert not fn(Answer('{"id": 1, "items": []}'))


def test_json_schema_missing_file_is_a_build_error(tmp_path: Path) -> None:
    message = config_error("json_schema", "schemas/nope.json", base_dir=str(tmp_path))
    assert "$ref: schema file 'schemas/nope.json' not found" in message


def test_json_schema_unparsable_file_is_a_build_error(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text("{oops")
    assert "is not valid JSON" in config_error("json_schema", "s.json", base_dir=str(tmp_path))


def test_json_schema_bad_schema_is_a_build_error() -> None:
    message = config_error("json_schema", {"schema": {"type": "objekt"}})
    assert "json_schema: invalid schema at $.type:" in message


def test_json_schema_honours_the_declared_draft() -> None:
    tuple_items = {"type": "array", "items": [{"type": "string"}]}  # draft-07 only
    assert "invalid schema" in config_error("json_schema", {"schema": tuple_items})
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", **tuple_items}
    assert not grade("json_schema", {"schema": draft7}, "[1]")


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({}, "give either"),
        ({"$ref": "a.json", "schema": {}}, "give either"),
        ({"type": "object"}, "unknown option 'type'"),
        ({"schema": [1]}, "must be a mapping or a boolean"),
    ],
)
def test_json_schema_option_errors(options: dict[str, Any], text: str) -> None:
    assert text in config_error("json_schema", options)


# -- json_field ----------------------------------------------------------------------------

ORDER = '{"items": [{"total": 12.5, "sku": "A-1", "paid": true}], "note": null, "tags": ["x"]}'


@pytest.mark.parametrize(
    ("options", "passed"),
    [
        ({"path": "items[0].total", "expected": 12.5}, True),
        ({"path": "items[-1].total", "expected": 12.4, "tolerance": 0.11}, True),
        ({"path": "items[0].total", "expected": 12}, False),
        ({"path": "items[0].sku", "expected": " a-1", "normalize": ["strip", "lower"]}, True),
        ({"path": "items[0].paid", "expected": 1}, False),  # true is not 1
        ({"path": "items[0].paid", "expected": True}, True),
        ({"path": "note", "expected": None}, True),
        ({"path": "tags", "expected": ["x"]}, True),
        ({"path": "items[0]", "expected": {"total": 12.5, "sku": "A-1", "paid": True}}, True),
    ],
)
def test_json_field_compares_the_value_at_path(options: dict[str, Any], passed: bool) -> None:
    assert bool(grade("json_field", options, ORDER)) is passed


def test_json_field_uses_the_case_expected_and_explains_misses() -> None:
    assert grade("json_field", "items[0].sku", ORDER, expected="A-1")
    assert grade("json_field", "items[0].sku", ORDER, expected="B").reason == (
        'items[0].sku: expected "B", got "A-1"'
    )
    missing = grade("json_field", {"path": "items[0].tax", "expected": 1}, ORDER)
    assert missing.reason == "no 'tax' at $.items[0]: it has no such key"
    assert grade("json_field", {"path": "items[3]", "expected": 1}, ORDER).reason == (
        "no [3] at $.items: it is a list of 1"
    )
    assert grade("json_field", {"path": "note.x", "expected": 1}, ORDER).reason == (
        "no 'x' at $.note: it is null"
    )


def test_json_field_reads_the_same_path_in_a_structured_case_expected() -> None:
    invoice = '{"vendor": "Acme", "total": 10.0}'
    expected = {"vendor": "ACME ", "total": 10.004}
    assert grade("json_field", {"path": "total", "tolerance": 0.01}, invoice, expected=expected)
    assert grade(
        "json_field",
        {"path": "vendor", "normalize": ["strip", "lower"]},
        invoice,
        expected=expected,
    )
    assert not grade("json_field", "total", invoice, expected={"total": 11})
    with pytest.raises(GraderConfigError, match=r"case 't-001' has nothing to compare.*'currency'"):
        grade("json_field", "currency", invoice, expected=expected)


@pytest.mark.parametrize("path", ["items[x]", "items..total", ".items", "items[0]total", "a."])
def test_json_field_bad_path_is_a_build_error(path: str) -> None:
    assert f"json_field: path {path!r}" in config_error("json_field", path)


# -- numeric -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("Total: $1,234.50 due", 1234.5),
        ("It is -3 degrees", -3),
        ("about 1e3 users", 1000),
        ("balance -$3.50", -3.5),
        ("balance $-3.50", -3.5),
        ("€12 and 13", 12),
        ("\u22125 points", -5),
        ("pages 10-20", 10),
        ("ratio .5", 0.5),
        ("v2 costs 7", 7),
    ],
)
def test_numeric_extracts_the_first_number(output: str, expected: float) -> None:
    assert grade("numeric", None, output, expected=expected), output


def test_numeric_last_tolerances_and_string_expected() -> None:
    assert grade("numeric", {"last": True}, "pages 10-20", expected=20)
    assert grade("numeric", {"expected": "1,234.50"}, "1234.5")
    assert grade("numeric", {"expected": 100, "tolerance": 0.5}, "100.4")
    assert grade("numeric", {"expected": 100, "rel_tolerance": 0.01}, "99")
    failed = grade("numeric", {"expected": 100, "tolerance": 0.5}, "total 101")
    assert failed.reason == "expected 100, got 101 (from '101')"
    assert grade("numeric", 3, "three").reason == "no number in 'three'"


def test_numeric_option_errors() -> None:
    assert "expected must be a number" in config_error("numeric", "ten")
    assert "tolerance: expected a number >= 0" in config_error("numeric", {"tolerance": -1})


# -- length --------------------------------------------------------------------------------


def test_length_units() -> None:
    assert grade("length", {"max": 5}, "hello")
    assert grade("length", {"min": 6}, "hello").reason == "5 chars, min 6"
    assert grade("length", {"max": 2, "unit": "words"}, " two  words\n")
    assert not grade("length", {"max": 2, "unit": "tokens"}, "x" * 9)  # ceil(9 / 4) = 3
    assert grade("length", {"min": 3, "max": 3}, "退款了")  # code points, not bytes


def test_length_option_errors() -> None:
    assert "give min, max or both" in config_error("length", {"unit": "words"})
    assert "min (3) is greater than max (2)" in config_error("length", {"min": 3, "max": 2})
    assert "(did you mean 'words'?)" in config_error("length", {"max": 2, "unit": "word"})


# -- similarity ----------------------------------------------------------------------------


def test_similarity_is_token_f1_with_a_default_threshold_of_0_8() -> None:
    assert grade(
        "similarity", None, "The refund is on its way!", expected="the refund is on its way"
    )
    result = grade("similarity", None, "the cat sat", expected="the cat sat down today")
    assert result.score == pytest.approx(0.75) and result.threshold == 0.8 and not result
    assert grade("similarity", None, "alpha", expected="beta").score == 0.0


def test_similarity_reference_choice() -> None:
    assert grade("similarity", None, "same words", baseline_output="same words")  # no expected
    assert grade("similarity", "baseline", "a b", expected="x y", baseline_output="a b")
    assert grade("similarity", None, "a b", expected=["x y", "a b"]).score == 1.0
    with pytest.raises(GraderConfigError, match="record a baseline answer"):
        grade("similarity", "baseline", "a b", expected="a b")
    with pytest.raises(GraderConfigError, match="has nothing to compare with"):
        grade("similarity", None, "a b")


def test_similarity_unicode_and_empty() -> None:
    assert grade("similarity", None, "我们会退款", expected="我们会退款。").score == 1.0
    assert grade("similarity", None, full_width("REFUND"), expected="refund").score == 1.0
    assert grade("similarity", None, "", expected="").score == 1.0
    assert grade("similarity", None, "", expected="refund").score == 0.0


# -- python --------------------------------------------------------------------------------

MODULE = """
from pytest_modelguard.grading import Answer, grader

def short(answer: str) -> bool:
    return len(answer) < 10

def matches(answer, expected):
    return answer == expected

def by_case(answer: Answer) -> float:
    return 1.0 if answer.case_id == "t-001" else 0.0

@grader(threshold=0.9, dimension="tone")
def polite(answer: str):
    return 0.8, "says please once"

def too_big(answer: str) -> float:
    return 2.0

def no_args() -> bool:
    return True

NOT_CALLABLE = 3
"""


@pytest.fixture
def graders_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"mg_test_graders_{tmp_path.name}"
    (tmp_path / f"{name}.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_python_grader_calling_conventions(graders_module: str) -> None:
    assert grade("python", f"{graders_module}:short", "hi")
    assert not grade("python", f"{graders_module}:short", "far too long")
    assert grade("python", f"{graders_module}:matches", "x", expected="x")
    assert grade("python", f"{graders_module}:by_case", "anything")
    result = grade("python", f"{graders_module}:short", "hi")
    assert result.name == "short" and result.threshold == 0.5 and result.reason == "for 'hi'"


def test_python_grader_keeps_decorator_defaults_unless_the_suite_sets_them(
    graders_module: str,
) -> None:
    result = grade("python", f"{graders_module}:polite", "x")
    assert (result.name, result.score, result.threshold, result.dimension) == (
        "polite", 0.8, 0.9, "tone",
    )  # fmt: skip
    assert result.reason == "says please once"
    fn = build("python", f"{graders_module}:polite", threshold=0.5, dimension="style")
    assert fn(Answer("x")).passed and fn(Answer("x")).dimension == "style"


def test_python_grader_out_of_range_score_raises_at_grade_time(graders_module: str) -> None:
    with pytest.raises(
        ValueError, match=r"grader 'too_big' returned 2.0; return a bool or a float"
    ):
        grade("python", f"{graders_module}:too_big", "x")


@pytest.mark.parametrize(
    ("reference", "text"),
    [
        ("nowhere_mod_xyz:f", "cannot import 'nowhere_mod_xyz' for 'nowhere_mod_xyz:f'"),
        ("{m}:shorter", "has no 'shorter' (did you mean 'short'?)"),
        ("{m}.short", "is not a reference; write package.module:function"),
        ("{m}:NOT_CALLABLE", "is a int, not a function"),
        ("{m}:no_args", "a grader takes (answer: str)"),
    ],
)
def test_python_grader_reference_errors(graders_module: str, reference: str, text: str) -> None:
    assert text in config_error("python", reference.format(m=graders_module))


# -- huge output ---------------------------------------------------------------------------

HUGE = ("lorem ipsum dolor sit amet, 1,234.50 é 退款 " * 25_000)[:1_000_000]


@pytest.mark.parametrize(
    ("name", "options"),
    [
        (
            "equals",
            {
                "expected": "x",
                "normalize": [
                    "nfkc",
                    "strip_accents",
                    "lower",
                    "strip_punctuation",
                    "collapse_whitespace",
                ],
            },
        ),
        ("contains", {"all": ["amet", "退款", "missing"], "none": ["zzz"]}),
        ("regex", {"pattern": r"\brefund(ed)?\b", "flags": "i"}),
        ("numeric", {"expected": 1234.5, "last": True}),
        ("length", {"max": 10, "unit": "words"}),
        ("similarity", {"against": "expected"}),
        ("json_valid", None),
        ("json_field", {"path": "a", "expected": 1}),
        ("json_schema", {"schema": INVOICE}),
    ],
)
def test_one_megabyte_output_is_fast_and_the_reason_short(name: str, options: Any) -> None:
    fn = build(name, options)
    started = time.process_time()  # CPU time: a complexity guard, steady on a loaded machine
    result = fn(Answer(HUGE, expected="lorem ipsum"))
    assert time.process_time() - started < 2.0  # a quadratic pass over 1 MB takes minutes
    assert 0.0 <= result.score <= 1.0 and len(result.reason) < 250


# -- combining grades ----------------------------------------------------------------------


def g(
    score: float, weight: float = 1.0, *, required: bool = False, dim: str | None = None
) -> Grade:
    return Grade("g", score, score >= 1.0, weight=weight, required=required, dimension=dim)


def test_score_answer_is_the_weighted_mean() -> None:
    assert score_answer([g(1.0, 3), g(0.0, 1)]) == (0.75, True)
    assert score_answer([g(1.0, 0), g(0.5, 0)]) == (0.75, True)  # all zero: plain mean
    assert score_answer([g(1.0, 0), g(0.5, 2)]) == (0.5, True)
    assert score_answer([]) == (1.0, True)


def test_score_answer_fails_only_on_a_required_failure() -> None:
    assert score_answer([g(0.0), g(1.0, required=True)]) == (0.5, True)
    assert score_answer([g(0.9, 9, required=True), g(1.0)])[1] is False


def test_score_answer_rejects_negative_weights() -> None:
    with pytest.raises(ValueError, match="weights are >= 0"):
        score_answer([g(1.0, -1)])


def test_dimension_scores_groups_by_dimension() -> None:
    grades = [g(1.0, 1, dim="format"), g(0.0, 3, dim="correctness"), g(1.0, 1, dim="correctness")]
    assert dimension_scores([*grades, g(0.0)]) == {"format": 1.0, "correctness": 0.25}
    assert dimension_scores([g(0.0, 0, dim="tone"), g(1.0, 0, dim="tone")]) == {"tone": 0.5}
    assert dimension_scores([g(1.0)]) == {}
