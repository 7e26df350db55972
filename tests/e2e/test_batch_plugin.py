"""``--modelguard-batch`` through pytest (#28 "Done when", the batch half): a 200-case suite on
all three wire formats answered only by provider batches, priced at the batch rate, with the
verdicts of an ordinary run; a run out of ``batch_wait_s`` ends without a verdict and its
rerun collects, creating no new batch; sequential looks are one batch each."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import loopback_batch
import pytest
from loopback import Call, LoopbackServer, Reply
from loopback_batch import BatchPlan

CASES = 200


def respond(call: Call) -> Reply:
    word = call.prompt.split()[-1]
    index = int(word[1:])
    wrong = {"cand-r": index % 10 == 0, "cand-a": index % 4 == 0}.get(call.model, False)
    return Reply("nope" if wrong else word, input_tokens=12, output_tokens=3)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    monkeypatch.setenv("SIM_KEY", "sim-batch-plugin-key")
    with LoopbackServer(respond) as srv:
        yield srv


def pyproject(server: LoopbackServer, extra: str = "") -> str:
    providers = "".join(
        f'[tool.modelguard.providers.{name}]\nkind = "{kind}"\nbase_url = "{url}"\n'
        'api_key_env = "SIM_KEY"\n'
        for name, kind, url in (
            ("oa", "openai", server.openai_base_url),
            ("oar", "openai-responses", server.openai_base_url),
            ("an", "anthropic", server.anthropic_base_url),
        )
    )
    aliases = "".join(
        f'[tool.modelguard.aliases.{alias}]\nmodel = "{model}"\n'
        "price = { input = 3.0, output = 15.0 }\n"
        for alias, model in (("base", "oa:base"), ("cand-r", "oar:cand-r"), ("cand-a", "an:cand-a"))
    )
    return (
        '[tool.modelguard]\nbaseline = "base"\nmodels = ["cand-r", "cand-a"]\n'
        f"resamples = 200\nbatch_poll_s = 0.001\n{extra}\n{providers}{aliases}"
    )


def suite(n: int) -> str:
    cases = "\n".join(
        f"  - id: c{i:03d}\n    prompt: 'say w{i}'\n    expected: w{i}" for i in range(n)
    )
    return f"suite: words\ndefaults:\n  graders:\n    - equals: {{}}\ncases:\n{cases}\n"


def project(pytester: pytest.Pytester, server: LoopbackServer, n: int, extra: str = "") -> None:
    pytester.makefile(".toml", pyproject=pyproject(server, extra))
    pytester.makefile(".modelguard.yaml", words=suite(n))


def report(pytester: pytest.Pytester, name: str, *args: str) -> tuple[pytest.RunResult, dict]:
    path = pytester.path / name
    result = pytester.runpytest("--modelguard-record=once", f"--modelguard-json={path}", *args)
    return result, json.loads(path.read_text()) if path.exists() else {}


def gate(document: dict) -> dict:
    """Per model: verdict, n, interval: what must not change with the way answers came."""
    return {
        name: (m["verdict"], m["n"], m["delta"] and (m["delta"]["ci_low"], m["delta"]["ci_high"]))
        for name, m in document["models"].items()
    }


def test_a_batch_run_makes_no_ordinary_call_and_gates_like_an_ordinary_run(
    pytester: pytest.Pytester, server: LoopbackServer
) -> None:
    project(pytester, server, CASES)
    ordinary, plain = report(pytester, "plain.json")
    assert ordinary.ret == 1  # cand-a drops a quarter of the cases
    calls = server.count()
    assert calls == 3 * CASES
    shutil.rmtree(pytester.path / ".modelguard")  # the batch run records afresh

    html = pytester.path / "batch.html"
    result, batched = report(
        pytester, "batch.json", "--modelguard-batch", f"--modelguard-html={html}"
    )
    service = loopback_batch.service_of(server)
    assert server.count() == calls  # no ordinary completion call
    assert len(service.items) == 3 * CASES and service.created == 3  # one per wire format
    assert result.ret == ordinary.ret
    assert gate(batched) == gate(plain)
    costs = {(c["model"], c["id"]): c["cost_usd"] for c in plain["cases"]}
    for case in batched["cases"]:
        assert case["batch"] is True
        assert case["cost_usd"] == pytest.approx(costs[(case["model"], case["id"])] / 2)
    assert {m["batch_answers"] for m in batched["models"].values()} == {CASES}
    assert not any(c["batch"] for c in plain["cases"])
    result.stdout.fnmatch_lines(["*600 of 600 results answered through provider batches*"])
    assert html.read_text().count(f"{CASES} by batch") == 3

    _, again = report(pytester, "again.json")  # recorded: replays, batch-priced still
    assert service.created == 3 and server.count() == calls
    assert gate(again) == gate(plain) and all(c["batch"] for c in again["cases"])


def test_a_run_out_of_wait_ends_without_a_verdict_and_its_rerun_collects(
    pytester: pytest.Pytester, server: LoopbackServer
) -> None:
    project(pytester, server, 20, extra="batch_wait_s = 0.2")
    service = loopback_batch.service_of(server)
    service.plan = BatchPlan(polls=1_000_000)
    waited, document = report(pytester, "r.json", "--modelguard-batch")
    assert waited.ret == pytest.ExitCode.INTERRUPTED and document == {}
    waited.stdout.fnmatch_lines([
        "*provider batches not done within batch_wait_s = 0.2s: no verdict yet. 3 batches saved "
        "in *batches.json; run again with --modelguard-batch to collect*"
    ])  # fmt: skip
    created = service.created
    assert created == 3 and (pytester.path / ".modelguard" / "batches.json").exists()

    service.plan = BatchPlan(polls=1)
    _, document = report(pytester, "r.json", "--modelguard-batch")
    assert service.created == created  # nothing submitted again
    assert server.count() == 0 and len(service.items) == 3 * 20
    assert len(document["cases"]) == 60 and all(c["batch"] for c in document["cases"])
    assert not (pytester.path / ".modelguard" / "batches.json").exists()


def test_batch_set_per_provider_leaves_the_others_ordinary(
    pytester: pytest.Pytester, server: LoopbackServer
) -> None:
    project(pytester, server, 10)
    path = pytester.path / "pyproject.toml"
    path.write_text(
        path.read_text().replace('kind = "anthropic"\n', 'kind = "anthropic"\nbatch = true\n')
    )
    _, document = report(pytester, "r.json")
    assert server.count() == 20 and loopback_batch.service_of(server).created == 1
    assert {m: d["batch_answers"] for m, d in document["models"].items()} == {
        "base": 0,
        "cand-r": 0,
        "cand-a": 10,
    }


def test_batch_with_xdist_is_a_usage_error(
    pytester: pytest.Pytester, server: LoopbackServer
) -> None:
    project(pytester, server, 2)
    result = pytester.runpytest("--modelguard-record=once", "--modelguard-batch", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--modelguard-batch*cannot run with -n*"])


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('batch_fallback = "later"', "batch_fallback"),
        ("batch_wait_s = -1", "batch_wait_s"),
        ('batch = "yes"', "batch"),
        ('batch_wait_s = "long"', "batch_wait_s"),
    ],
)
def test_bad_batch_settings_name_the_file_line_and_key(
    pytester: pytest.Pytester, server: LoopbackServer, extra: str, key: str
) -> None:
    project(pytester, server, 2, extra=extra)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*pyproject.toml:6: [[]tool.modelguard[]] {key}: *"])


def test_sequential_looks_are_one_batch_each_and_settled_candidates_are_not_sent(
    pytester: pytest.Pytester, server: LoopbackServer
) -> None:
    def respond_same(call: Call) -> Reply:  # cand-r answers as the baseline: it is asked on
        return respond(Call(call.wire, "base" if call.model == "cand-r" else call.model,
                            call.messages, call.params, call.headers))  # fmt: skip

    server.responder = respond_same
    project(pytester, server, CASES, extra="sequential_batch = 40")
    _, document = report(pytester, "r.json", "--modelguard-batch", "--modelguard-sequential")
    service = loopback_batch.service_of(server)
    assert server.count() == 0
    asked = {m: d["n_asked"] for m, d in document["models"].items() if d.get("sequential")}
    assert asked["cand-a"] < asked["cand-r"]  # cand-a settled first
    by_provider: dict[str, list[int]] = {}
    for batch in service.batches.values():
        wire = "an" if batch.wire == "anthropic" else batch.endpoint
        by_provider.setdefault(wire, []).append(len(batch.lines))
    # one batch per look and provider; cand-a (on "an") never sent after it settled
    assert sum(by_provider["an"]) == asked["cand-a"]
    assert sum(by_provider["/v1/responses"]) == asked["cand-r"]
    assert sum(by_provider["/v1/chat/completions"]) == asked["cand-r"]  # the baseline's
    assert all(size <= 40 for sizes in by_provider.values() for size in sizes)
    assert len(by_provider["an"]) < len(by_provider["/v1/responses"])


def test_a_broken_saved_list_is_a_usage_error_naming_it(
    pytester: pytest.Pytester, server: LoopbackServer
) -> None:
    project(pytester, server, 2)
    saved = pytester.path / ".modelguard" / "batches.json"
    saved.parent.mkdir()
    saved.write_text('{"version": 1, "batches": [{"provider": "oa"}]}')
    result = pytester.runpytest("--modelguard-record=once", "--modelguard-batch")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*batches.json: batches[[]0[]].id must be a batch id*"])
    assert server.count() == 0 and loopback_batch.service_of(server).created == 0


def test_the_dry_run_counts_at_the_batch_price(
    pytester: pytest.Pytester, server: LoopbackServer
) -> None:
    project(pytester, server, 10)

    def total(*args: str) -> float:
        result = pytester.runpytest("--modelguard-record=once", "--modelguard-dry-run", *args)
        (line,) = [x for x in result.stdout.lines if x.strip().startswith("total:")]
        return float(line.rsplit("$", 1)[1])

    assert total("--modelguard-batch") == pytest.approx(total() / 2, abs=1e-4)
    assert server.count() == 0 and loopback_batch.service_of(server).created == 0


def test_judge_calls_are_a_second_round_of_batches(
    pytester: pytest.Pytester, server: LoopbackServer
) -> None:
    def respond_judged(call: Call) -> Reply:
        return Reply("Right.\nSCORE: 1") if call.model == "judge-1" else respond(call)

    server.responder = respond_judged
    project(pytester, server, 10, extra='judge = "an:judge-1"')
    (pytester.path / "words.modelguard.yaml").write_text(
        suite(10).replace("- equals: {}", "- llm_judge: {rubric: 'the word asked for'}")
    )
    _, document = report(pytester, "r.json", "--modelguard-batch")
    service = loopback_batch.service_of(server)
    assert server.count() == 0
    judged = [c for c in service.items if c.model == "judge-1"]
    # 3 answer batches, then the judge's: one per distinct answer (the same text is judged once)
    distinct = {(c["id"], c["output"]) for c in document["cases"]}
    assert len(judged) == len(distinct) and service.created == 4
    assert list(service.batches.values())[-1].wire == "anthropic"
    entries = list((pytester.path / ".modelguard" / "answers" / "an" / "judge-1").rglob("*.json"))
    assert len(entries) == len(distinct)
    assert all(json.loads(p.read_text())["completion"]["batch"] is True for p in entries)
    assert all(c["judge_cost_usd"] is None or c["judge_cost_usd"] >= 0 for c in document["cases"])
