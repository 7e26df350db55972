"""`modelguard import promptfoo`: configs of the shapes in promptfoo's examples → suites."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import paths
import pytest

from pytest_modelguard.cli import main
from pytest_modelguard.config import Overrides, load_settings
from pytest_modelguard.grading import build_grader
from pytest_modelguard.importers.promptfoo import import_config
from pytest_modelguard.records.grades import Answer
from pytest_modelguard.suite import load_suite

FIXTURES = paths.FIXTURES / "promptfoo"

ROWS = [  # (question, __expected1, __expected2): ten tests, the five assert kinds
    ("Capital of France?", "Paris", "llm-rubric:Names {{question}}'s answer, nothing else"),
    ("Capital of Italy?", "equals:Rome", ""),
    ("Say hello in French", "icontains:bonjour", ""),
    ("Say thanks in French", "icontains:merci", "not-icontains:thank"),
    ("A year of the 1990s?", "regex:^199[0-9]$", ""),
    ("Two digits please", "regex:\\d{2}", "llm-rubric:Gives exactly two digits"),
    ("Give a JSON object", "is-json", ""),
    ("Give a JSON list", "is-json", "contains:["),
    ("How are you?", "llm-rubric:Friendly and short", ""),
    ("Spell cat", "equals:cat", "icontains:c"),
]
CONFIG = """\
description: Done-when config
prompts:
  - 'Answer in one word: {{question}}'
  - file://prompt.txt
providers:
  - id: openai:gpt-4.1-mini
    label: small
    config: {temperature: 0, apiKey: sk-planted-in-config-0123456789}
  - openai:gpt-4.1
defaultTest:
  options:
    provider: openai:gpt-4.1
tests: file://tests.csv
"""


def _config(tmp_path: Path) -> Path:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "prompt.txt").write_text("Be brief.\n\n{{ question }}\n")
    with (tmp_path / "tests.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["question", "__expected1", "__expected2"])
        writer.writerows(ROWS)
    config = tmp_path / "promptfooconfig.yaml"
    config.write_text(CONFIG)
    return config


def _asserts() -> dict[str, int]:
    kinds: dict[str, int] = {}
    for _, *cells in ROWS:
        for cell in filter(None, cells):
            kind = cell.split(":", 1)[0] if ":" in cell or cell == "is-json" else "equals"
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def test_done_when_two_prompts_ten_csv_tests_collect_as_20_cases_per_model(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(pytester.path / "pf")
    assert main(["import", "promptfoo", str(config), "-o", str(pytester.path)]) == 0
    out = capsys.readouterr().out
    suite = pytester.path / "pf.modelguard.yaml"
    assert f"wrote 20 cases (2 prompts x {len(ROWS)} tests) to {suite}" in out
    mapped = ", ".join(
        f"{k} {n}" for k, n in sorted(_asserts().items(), key=lambda i: (-i[1], i[0]))
    )
    assert f"mapped: {mapped}" in out
    assert "sk-planted" not in out + (pytester.path / "pf.pyproject-snippet.toml").read_text()
    assert "apiKey) is not copied: set it in the environment variable OPENAI_API_KEY" in out
    snippet = (pytester.path / "pf.pyproject-snippet.toml").read_text()
    pytester.makefile(".toml", pyproject=snippet)
    table = tomllib.loads(snippet)["tool"]["modelguard"]
    settings = load_settings("pyproject.toml", table, Overrides(), pytester.path)
    assert [m.name for m in settings.models] == ["small", "gpt-4-1"]
    assert settings.judge is not None and settings.judge.model == "gpt-4.1"
    result = pytester.runpytest("-p", "no:cacheprovider", "--collect-only", "-q")
    ids = [line for line in result.outlines if "::" in line]
    for model in ("small", "gpt-4-1"):
        assert len([i for i in ids if i.endswith(f"[{model}]")]) == 20
    cases = load_suite(suite).cases
    assert cases[0].messages[-1]["content"] == "Answer in one word: Capital of France?"
    assert cases[1].messages[-1]["content"] == "Be brief.\n\nCapital of France?"


def _grade(spec: dict[str, object], output: str, expected: object = None) -> float:
    from pytest_modelguard.records.grades import GraderSpec

    ((name, options),) = ((k, v) for k, v in spec.items() if k not in ("weight", "dimension"))
    grader = build_grader(GraderSpec(name=name, options=options))
    return grader(Answer(output=output, expected=expected)).score


@pytest.mark.parametrize(
    ("assertion", "output", "passes"),
    [
        ({"type": "equals", "value": "Yarr"}, "Yarr", True),
        ({"type": "equals", "value": "Yarr"}, "yarr", False),  # exact, as promptfoo's
        ({"type": "not-equals", "value": "a.b"}, "axb", True),  # escaped: '.' is no wildcard
        ({"type": "not-equals", "value": "a.b"}, "a.b", False),
        ({"type": "contains", "value": "Ahoy"}, "ahoy there", False),  # case-sensitive
        ({"type": "icontains", "value": "Ahoy"}, "AHOY there", True),
        ({"type": "not-icontains", "value": "sorry"}, "So SORRY", False),
        ({"type": "contains-any", "value": "red, blue"}, "a blue sky", True),
        ({"type": "icontains-any", "value": ["RED", "x"]}, "a red sky", True),
        ({"type": "not-contains-any", "value": ["red", "blue"]}, "a blue sky", False),
        ({"type": "contains-all", "value": ["a", "b"]}, "a b", True),
        ({"type": "starts-with", "value": "(1)"}, "(1) first", True),
        ({"type": "starts-with", "value": "(1)"}, "x (1) first", False),
        ({"type": "not-starts-with", "value": "Sure"}, "Sure!", False),
        ({"type": "regex", "value": "^\\d{3}$"}, "123", True),
        ({"type": "not-regex", "value": "error"}, "an error", False),
        ({"type": "is-json"}, '{"a": 1}', True),
        ({"type": "is-json"}, '```json\n{"a": 1}\n```', False),  # JSON.parse of the whole
        ({"type": "contains-json"}, 'Here: {"a": 1} done', True),
        ({"type": "contains-json"}, "Here: {a: 1} done", False),
        ({"type": "is-json", "value": {"type": "object", "required": ["a"]}}, '{"b": 1}', False),
        ({"type": "is-json", "value": "{type: object, required: [a]}"}, '{"a": 1}', True),
    ],
)
def test_asserts_keep_promptfoos_meaning(
    tmp_path: Path, assertion: dict[str, object], output: str, passes: bool
) -> None:
    from pytest_modelguard.importers.promptfoo_asserts import map_assert

    mapped = map_assert(assertion, {}, lambda v: __import__("yaml").safe_load(v), lambda p: None)
    assert mapped.grader is not None, mapped.unmapped
    score = _grade(mapped.grader, output)
    assert (score == 1.0) is passes


@pytest.mark.parametrize(
    ("assertion", "reason"),
    [
        ({"type": "javascript", "value": "output.length < 9"}, "javascript (no equivalent"),
        ({"type": "similar", "value": "hi"}, "similar (no equivalent"),
        ({"type": "regex", "value": "(?<=a)b"}, "regex RE2 cannot run"),
        ({"type": "not-is-json"}, "not-is-json"),
        ({"type": "not-contains-all", "value": ["a"]}, "not-contains-all"),
        ({"type": "equals", "value": {"a": 1}}, "equals with an object value"),
        ({"type": "icontains", "value": "x", "transform": "output.trim()"}, "with transform"),
        ({"type": "cost"}, "cost without a number threshold"),
        ({"type": "llm-rubric", "value": "x", "rubricPrompt": "custom"}, "with rubricPrompt"),
        ({"type": "equals", "value": "{{ x | upper }}"}, "a filter"),
    ],
)
def test_asserts_that_cannot_map_say_why(assertion: dict[str, object], reason: str) -> None:
    from pytest_modelguard.importers.promptfoo_asserts import map_assert

    mapped = map_assert(assertion, {"x": "1"}, lambda v: None, lambda p: None)
    assert mapped.grader is None and mapped.unmapped is not None and reason in mapped.unmapped


def test_weight_threshold_metric_cost_and_latency(tmp_path: Path) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text(
        """\
prompts: ['Q: {{q}}']
providers: [anthropic:messages:claude-haiku-4-5]
defaultTest:
  assert:
    - {type: cost, threshold: 0.002}
    - {type: latency, threshold: 3000}
tests:
  - vars: {q: one}
    assert:
      - {type: llm-rubric, value: 'Answers {{q}}', threshold: 0.7, weight: 2, metric: quality}
      - {type: cost, threshold: 0.001}
  - vars: {q: [two, three]}
    assert: [{type: icontains, value: t, metric: format}]
"""
    )
    done = import_config(tmp_path / "promptfooconfig.yaml")
    cases = load_suite_text(tmp_path, done.suite)
    assert [c.id for c in cases] == ["t1", "t2", "t3"]  # list-valued vars: one test each
    judge = cases[0].graders[0]
    assert judge.name == "llm_judge" and judge.weight == 2.0 and judge.threshold == 0.7
    assert judge.dimension == "quality" and judge.options["rubric"] == "Answers one"
    assert judge.options["scale"] == 10
    assert [c.messages[-1]["content"] for c in cases[1:]] == ["Q: two", "Q: three"]
    table = tomllib.loads(done.snippet)["tool"]["modelguard"]
    assert table["budgets"] == {"max_cost_per_case_usd": 0.001, "max_latency_p95_s": 3.0}
    assert table["aliases"]["claude-haiku-4-5"]["model"] == "anthropic:claude-haiku-4-5"
    assert done.findings.mapped == {"llm-rubric": 1, "cost": 4, "latency": 3, "icontains": 2}


def load_suite_text(where: Path, text: str) -> list:  # type: ignore[type-arg]
    path = where / "check.modelguard.yaml"
    path.write_text(text)
    return list(load_suite(path).cases)


@pytest.mark.parametrize(
    ("example", "cases", "lines"),
    [
        (
            "simple-csv",
            4,
            [
                "mapped: icontains 4",
                "not mapped 1: prompt template: a filter in {{ (style_config | load).tone }} "
                "(first at prompts.txt:1)",
            ],
        ),
        (
            "csv-metadata",
            3,
            [
                "mapped: contains 3, llm-rubric 3",
                "noted 6: __metadata columns are kept as nothing (no suite key) "
                "(first at tests.csv:2)",
            ],
        ),
        (
            "simple-test",
            8,
            [
                "mapped: icontains 2, equals 1, is-json 1, llm-rubric 1",
                "not mapped 1: javascript (no equivalent grader) "
                "(first at promptfooconfig.yaml:32)",
                "not mapped 1: python (no equivalent grader) (first at promptfooconfig.yaml:34)",
                "not mapped 1: similar (no equivalent grader) (first at promptfooconfig.yaml:38)",
                "left out 1: a test where none of its asserts maps "
                "(first at promptfooconfig.yaml:27)",
                "noted 1: promptfoo's schema: (top level): Additional properties are not allowed "
                "('assertionTemplates' was unexpected) (first at promptfooconfig.yaml:2)",
            ],
        ),
    ],
)
def test_promptfoos_own_examples_import_with_every_loss_listed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    example: str,
    cases: int,
    lines: list[str],
) -> None:
    config = FIXTURES / example / "promptfooconfig.yaml"
    assert main(["import", "promptfoo", str(config), "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for line in lines:
        assert line in out
    suite = load_suite(tmp_path / f"{example}.modelguard.yaml")
    assert len(suite.cases) == cases
    if example == "simple-test":  # YAML 1.2, as promptfoo reads it: `body: Yes` is text
        assert suite.cases[0].messages[-1]["content"].endswith(": Yes")
        assert suite.cases[-1].graders[-1].options == {"any": ["arrr"]}  # the $ref template


def test_an_existing_suite_is_not_replaced_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = FIXTURES / "simple-test" / "promptfooconfig.yaml"
    args = ["import", "promptfoo", str(config), "-o", str(tmp_path)]
    assert main(args) == 0
    suite = tmp_path / "simple-test.modelguard.yaml"
    suite.write_text("# edited by hand\n")
    capsys.readouterr()
    assert main(args) == 4
    err = capsys.readouterr().err
    assert "already exist" in err and "--force" in err and "nothing was written" in err
    assert suite.read_text() == "# edited by hand\n"
    assert main([*args, "--force"]) == 0
    assert load_suite(suite).cases


def test_file_tests_yaml_jsonl_globs_default_vars_and_chat_prompts(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "a.yaml").write_text(
        "- vars: {city: Oslo}\n  assert: [{type: icontains, value: oslo}]\n"
    )
    (tmp_path / "tests" / "b.yaml").write_text(
        "- vars: {city: Rome, notes: file://notes.txt}\n"
        "  assert: [{type: starts-with, value: Rome}]\n"
    )
    (tmp_path / "more.jsonl").write_text(
        '{"vars": {"city": "Paris"}, "assert": [{"type": "regex", "value": "Paris"}]}\n'
    )
    (tmp_path / "notes.txt").write_text("two lines\nof notes")
    (tmp_path / "chat.json").write_text(
        '[{"role": "system", "content": "You are {{persona}}."},'
        ' {"role": "user", "content": "About {{city}}: {{notes}}"}]'
    )
    (tmp_path / "promptfooconfig.yaml").write_text(
        """\
prompts: [file://chat.json]
defaultTest:
  vars: {persona: a guide, notes: none}
  assert: [{type: not-icontains, value: "as an AI"}]
tests: [file://tests/*.yaml, file://more.jsonl]
"""
    )
    done = import_config(tmp_path / "promptfooconfig.yaml")
    cases = load_suite_text(tmp_path, done.suite)
    assert [c.messages[-1]["content"] for c in cases] == [
        "About Oslo: none",
        "About Rome: two lines\nof notes",
        "About Paris: none",
    ]
    assert all(c.messages[0]["content"] == "You are a guide." for c in cases)
    assert [len(c.graders) for c in cases] == [2, 2, 2]  # defaultTest's assert first
    assert cases[0].graders[0].options == {"none": ["as an AI"]}


def test_providers_snippet_maps_ids_keys_and_base_urls(tmp_path: Path) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text(
        """\
prompts: ['{{q}}']
providers:
  - id: openai:chat:llama-3.3-70b
    label: groq llama
    config: {apiBaseUrl: "https://api.groq.com/openai/v1", apiKeyEnvar: GROQ_API_KEY,
             temperature: 0.2, max_tokens: 50, apiKey: gsk_planted_0123456789abcdef}
  - openai:responses:gpt-5-mini
  - bedrock:anthropic.claude-3
  - file://my_provider.py
  - id: https://user:secret-in-url-0123456789@example.com/api
tests: [{vars: {q: hi}, assert: [{type: contains, value: hi}]}]
"""
    )
    done = import_config(tmp_path / "promptfooconfig.yaml")
    assert "planted" not in done.snippet and "secret-in-url" not in done.snippet
    table = tomllib.loads(done.snippet)["tool"]["modelguard"]
    assert table["providers"]["groq-llama-api"] == {
        "kind": "openai",
        "base_url": "https://api.groq.com/openai/v1",
        "api_key_env": "GROQ_API_KEY",
    }
    alias = table["aliases"]["groq-llama"]
    assert alias == {"model": "groq-llama-api:llama-3.3-70b",
                     "params": {"temperature": 0.2, "max_tokens": 50}}  # fmt: skip
    assert table["aliases"]["gpt-5-mini"]["model"] == "openai-responses:gpt-5-mini"
    settings = load_settings("pyproject.toml", table, Overrides(), tmp_path)
    assert settings.baseline is not None and settings.baseline.name == "groq-llama"
    missed = done.findings.unmapped
    assert missed["provider bedrock: (only openai: and anthropic: ids map)"] == 1
    assert missed["provider file: (only openai: and anthropic: ids map)"] == 1
    assert missed["provider https: (only openai: and anthropic: ids map)"] == 1
    assert not any("secret" in reason for reason in [*missed, *done.findings.notes])


def test_tools_call_assert_uses_the_provider_tools(tmp_path: Path) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text(
        """\
prompts: ['weather in {{city}}']
providers:
  - id: openai:gpt-4.1-mini
    config:
      tools:
        - type: function
          function:
            name: get_weather
            parameters: {type: object, properties: {city: {type: string}}, required: [city]}
tests: [{vars: {city: Oslo}, assert: [{type: is-valid-openai-tools-call}]}]
"""
    )
    done = import_config(tmp_path / "promptfooconfig.yaml")
    (case,) = load_suite_text(tmp_path, done.suite)
    assert case.params["tools"][0]["function"]["name"] == "get_weather"
    grader = build_grader(case.graders[0])
    tools = tuple(case.params["tools"])
    good = ({"id": "c1", "name": "get_weather", "arguments": {"city": "Oslo"}},)
    bad = ({"id": "c1", "name": "get_weather", "arguments": {"town": "Oslo"}},)
    assert grader(Answer(output="", tool_calls=good, tools=tools)).score == 1.0
    assert grader(Answer(output="", tool_calls=bad, tools=tools)).score == 0.0
    assert grader(Answer(output="It is sunny.", tools=tools)).score == 0.0


def test_unrenderable_prompts_and_transforms_are_listed_not_rendered(tmp_path: Path) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text(
        """\
prompts:
  - 'Plain {{ q }}'
  - '{% for x in items %}{{ x }}{% endfor %}'
  - id: file://prompt.py
tests:
  - vars: {q: one}
    assert: [{type: equals, value: one}]
  - vars: {q: two}
    options: {transform: output.toUpperCase()}
    assert: [{type: equals, value: TWO}]
  - vars: {q: three}
  - vars: {q: four}
    threshold: 0.5
    assert: [{type: contains, value: four}]
"""
    )
    (tmp_path / "prompt.py").write_text("def prompt(context): return 'x'\n")
    done = import_config(tmp_path / "promptfooconfig.yaml")
    cases = load_suite_text(tmp_path, done.suite)
    assert [c.messages[-1]["content"] for c in cases] == ["Plain one", "Plain four"]
    found = done.findings
    assert (
        found.unmapped[
            "prompt template: Nunjucks tag {% for %} (loops, conditionals, set, include)"
        ]
        == 1
    )
    assert found.first["prompt function in a .py file"] == "promptfooconfig.yaml:4"
    assert found.left_out["a test with options.transform"] == 1
    assert found.first["a test with options.transform"] == "promptfooconfig.yaml:8"
    assert found.left_out["a test where no assert"] == 1
    assert found.unmapped["test threshold (a case has no pass mark of its own)"] == 1


def test_a_tests_grading_provider_becomes_its_judge(tmp_path: Path) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text(
        """\
prompts: ['{{q}}']
defaultTest: {options: {provider: openai:gpt-4.1}}
tests:
  - vars: {q: a}
    assert: [{type: llm-rubric, value: ok}]
  - vars: {q: b}
    options: {provider: {id: anthropic:messages:claude-sonnet-4-5}}
    assert: [{type: llm-rubric, value: ok}]
  - vars: {q: c}
    options: {provider: ollama:llama3}
    assert: [{type: llm-rubric, value: ok}]
"""
    )
    done = import_config(tmp_path / "promptfooconfig.yaml")
    judges = [c.graders[0].options.get("model") for c in load_suite_text(tmp_path, done.suite)]
    assert judges == [None, "anthropic:claude-sonnet-4-5", None]
    assert 'judge = "openai:gpt-4.1"' in done.snippet
    assert done.findings.first["options.provider we cannot call"] == "promptfooconfig.yaml:9"


def test_contains_json_on_a_hostile_output_is_bounded() -> None:
    from pytest_modelguard.grading.builtin_json import MAX_JSON_STARTS, find_object

    with pytest.raises(ValueError, match="no JSON object"):
        find_object("{" * 200_000)
    late = "{x " * MAX_JSON_STARTS + '{"a": 1}'
    with pytest.raises(ValueError):  # only the first MAX_JSON_STARTS starts are tried
        find_object(late)
    assert find_object("{x " * 3 + '{"a": 1}') == {"a": 1}


def test_csv_special_columns_as_promptfoo_reads_them(tmp_path: Path) -> None:
    with (tmp_path / "t.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([
            ["q", "__expected1", "__expected2", "__description", "__prefix", "__metric",
             "__config:__expected2:threshold", "_expected"],
            ["x", "similar(0.9):hello", "llm-rubric:polite", "greets", "Please: ", "tone",
             "0.6", "v"],
        ])  # fmt: skip
    (tmp_path / "promptfooconfig.yaml").write_text(
        "prompts:\n  - {raw: 'Say {{q}}', label: short}\n  - {id: file://p.txt, label: long}\n"
        "tests: file://t.csv\n"
    )
    (tmp_path / "p.txt").write_text("Kindly say {{q}}")
    done = import_config(tmp_path / "promptfooconfig.yaml")
    cases = load_suite_text(tmp_path, done.suite)
    assert [c.messages[-1]["content"] for c in cases] == ["Please: Say x", "Please: Kindly say x"]
    assert [c.id for c in cases] == ["t1-p1", "t1-p2"]
    judge = cases[0].graders[0]
    assert (judge.threshold, judge.dimension, judge.options["scale"]) == (0.6, "tone", 10)
    assert done.findings.unmapped["similar (no equivalent grader)"] == 1
    # a single underscore is a var, as in promptfoo (which only warns)
    assert "_expected" not in "".join(done.findings.unmapped)


def test_a_tests_prompts_filter_picks_prompts_by_label(tmp_path: Path) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text(
        """\
prompts:
  - {id: 'A {{q}}', label: a}
  - {id: 'B {{q}}', label: b}
tests:
  - vars: {q: one}
    prompts: [b]
    assert: [{type: contains, value: o}]
  - vars: {q: two}
    assert: [{type: contains, value: t}]
"""
    )
    cases = load_suite_text(tmp_path, import_config(tmp_path / "promptfooconfig.yaml").suite)
    assert [(c.id, c.messages[-1]["content"]) for c in cases] == [
        ("t1-p2", "B one"),
        ("t2-p1", "A two"),
        ("t2-p2", "B two"),
    ]


def test_default_test_from_a_file_and_prompts_as_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "default.yaml").write_text(
        "vars: file://default_vars.yaml\nassert: [{type: not-contains, value: Sorry}]\n"
    )
    (tmp_path / "facts.yaml").write_text("city: Oslo\nsize: 2\n")
    (tmp_path / "default_vars.yaml").write_text("tone: dry\nfacts: file://facts.yaml\n")
    (tmp_path / "p.txt").write_text("In a {{tone}} tone, {{q}} ({{facts.city}}, {{facts}})")
    (tmp_path / "promptfooconfig.yaml").write_text(
        "prompts: {'file://p.txt': main}\ndefaultTest: file://default.yaml\n"
        "tests: [{vars: {q: go}, assert: [{type: contains, value: go}]}]\n"
    )
    done = import_config(tmp_path / "promptfooconfig.yaml")
    (case,) = load_suite_text(tmp_path, done.suite)
    assert case.messages[-1]["content"] == 'In a dry tone, go (Oslo, {"city":"Oslo","size":2})'
    assert [g.options for g in case.graders] == [
        {"none": ["Sorry"], "case_sensitive": True},
        {"any": ["go"], "case_sensitive": True},
    ]


@pytest.mark.parametrize(
    ("template", "values", "rendered", "missing"),
    [
        ("{{a}}-{{ a }}-{{\ta\n}}", {"a": 1.0}, "1-1-1", set()),
        ("{{ o.k }} {{ l[1] }} {{ b }}", {"o": {"k": "v"}, "l": [0, True], "b": False},
         "v true false", set()),
        ("{# note #}[{{ gone }}][{{ o.none }}]", {"o": {}}, "[][]", {"gone", "o.none"}),
        ("{{ o }}", {"o": {"x": [1, "é"]}}, '{"x":[1,"é"]}', set()),
    ],
)  # fmt: skip
def test_nunjucks_subset_renders_as_nunjucks(
    template: str, values: dict[str, object], rendered: str, missing: set[str]
) -> None:
    from pytest_modelguard.importers.nunjucks import render

    seen: set[str] = set()
    assert render(template, values, seen) == rendered
    assert seen == missing


@pytest.mark.parametrize(
    ("template", "what"),
    [
        ("{{ a | upper }}", "a filter in {{ a | upper }}"),
        ("{{ a + 1 }}", "an expression in {{ a + 1 }}"),
        ("{{- a }}", "an expression in {{ - a }}"),
        ("{% if a %}x{% endif %}", "Nunjucks tag {% if %}"),
        ("{{ f() }}", "an expression in {{ f() }}"),
    ],
)
def test_nunjucks_beyond_the_subset_is_refused(template: str, what: str) -> None:
    from pytest_modelguard.importers.nunjucks import Unsupported, check

    with pytest.raises(Unsupported) as info:
        check(template)
    assert what in str(info.value)


def test_a_test_naming_no_imported_prompt_is_left_out_and_listed(tmp_path: Path) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text(
        "prompts: [{id: 'A {{q}}', label: a}, {id: '{{ q | upper }}', label: b}]\n"
        "tests:\n"
        "  - {vars: {q: x}, prompts: [b], assert: [{type: contains, value: x}]}\n"
        "  - {vars: {q: y}, assert: [{type: contains, value: y}]}\n"
    )
    done = import_config(tmp_path / "promptfooconfig.yaml")
    assert [c.id for c in load_suite_text(tmp_path, done.suite)] == ["t2"]  # one usable prompt
    reason = "a test where its prompts: names no prompt label we import"
    assert done.findings.first[reason] == "promptfooconfig.yaml:3"
