"""Images end to end over real HTTP: a suite's image file reaches each wire format as its
bytes (a data URL for OpenAI, a base64 ``image`` block for Anthropic, ``input_image`` for
Responses); the cache keys the bytes, so one changed byte calls again for that case only
and a touched or moved file calls nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import Call, LoopbackServer, Reply
from loopback_media import png
from paths import ROOT

BLOCKS = {"openai": "image_url", "openai-responses": "input_image", "anthropic": "image"}


def respond(call: Call) -> Reply:
    """The image's size, as a vision model would read it (0×0 when none arrived)."""
    sizes = [f"{len(m.data)} bytes" for m in call.media]
    return Reply("total 12.50; " + ", ".join(sizes or ["no image"]))


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(respond) as srv:
        yield srv


def make_project(
    pytester: pytest.Pytester, server: LoopbackServer, kind: str, count: int = 3
) -> None:
    url = server.anthropic_base_url if kind == "anthropic" else server.openai_base_url
    pytester.makefile(".toml", pyproject=f"""
[tool.modelguard]
baseline = "sim:base-1"
models = ["sim:cand-1"]
[tool.modelguard.providers.sim]
kind = "{kind}"
base_url = "{url}"
api_key_env = "SIM_KEY"
""")  # fmt: skip
    (pytester.path / "img").mkdir()
    for n in range(count):
        (pytester.path / "img" / f"r{n}.png").write_bytes(png(8 + n, 6, seed=n))
    cases = [
        {"id": f"r{n}", "prompt": [{"type": "text", "text": f"total of receipt {n}?"},
                                   {"type": "image", "path": f"img/r{n}.png"}]}
        for n in range(count)
    ]  # fmt: skip
    suite = {"defaults": {"graders": [{"contains": {"any": ["12.50"]}}]}, "cases": cases}
    pytester.makefile(".modelguard.yaml", receipts=json.dumps(suite, indent=1))


def run(pytester: pytest.Pytester) -> pytest.RunResult:
    return pytester.runpytest("--modelguard-record=once", "-p", "no:cacheprovider")


@pytest.mark.parametrize("kind", ["openai", "anthropic", "openai-responses"])
def test_an_image_file_reaches_the_provider_as_its_bytes(
    pytester: pytest.Pytester, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("SIM_KEY", "sk-sim-media-test")
    make_project(pytester, server, kind)
    result = run(pytester)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert server.count() == 6  # 3 cases × 2 models
    sent = {call.prompt.rsplit(" ", 1)[1]: call.media for call in server.calls}
    for n in range(3):
        (media,) = sent[f"{n}?"]
        assert media.block == BLOCKS[kind]
        assert media.data == (pytester.path / "img" / f"r{n}.png").read_bytes()
        assert media.media_type == "image/png"
        if kind == "anthropic":
            assert media.source == "base64"
        else:
            assert media.url.startswith("data:image/png;base64,")


def test_one_changed_byte_calls_that_case_again_and_a_touch_or_move_calls_nothing(
    pytester: pytest.Pytester, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_KEY", "sk-sim-media-test")
    make_project(pytester, server, "openai")
    assert run(pytester).ret == pytest.ExitCode.OK
    assert server.count() == 6

    image = pytester.path / "img" / "r1.png"
    os.utime(image, (1, 1))  # touched: same bytes
    moved = pytester.path / "pictures"
    (pytester.path / "img").rename(moved)  # moved: the suite follows the new path
    suite = pytester.path / "receipts.modelguard.yaml"
    suite.write_text(suite.read_text().replace("img/", "pictures/"))
    assert run(pytester).ret == pytest.ExitCode.OK
    assert server.count() == 6  # nothing called

    data = bytearray((moved / "r1.png").read_bytes())
    data[-13] ^= 1  # one byte of the IEND chunk's CRC: still a PNG by its magic
    (moved / "r1.png").write_bytes(bytes(data))
    assert run(pytester).ret == pytest.ExitCode.OK
    again = server.calls[6:]
    assert len(again) == 2  # r1 for both models, nothing else
    assert {call.prompt for call in again} == {"total of receipt 1?"}
    assert all(call.media[0].data == bytes(data) for call in again)


def test_the_cache_stores_the_digest_never_the_bytes(
    pytester: pytest.Pytester, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64
    import hashlib

    monkeypatch.setenv("SIM_KEY", "sk-sim-media-test")
    make_project(pytester, server, "anthropic")
    assert run(pytester).ret == pytest.ExitCode.OK
    entries = list(Path(pytester.path, ".modelguard").rglob("*.json"))
    assert len(entries) == 6
    image = (pytester.path / "img" / "r0.png").read_bytes()
    encoded = base64.b64encode(image).decode()
    digest = hashlib.sha256(image).hexdigest()
    texts = [entry.read_text() for entry in entries]
    assert not any(encoded[:40] in text for text in texts)
    stored = [json.loads(text)["request"]["messages"][0]["content"][1] for text in texts]
    assert {"type": "image", "media_type": "image/png", "sha256": digest} in stored


def test_reports_show_the_images_by_label_digest_path_and_thumbnail(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    def worse(call: Call) -> Reply:  # the candidate misreads every receipt but the first
        wrong = call.model == "cand-1" and not call.prompt.endswith(" 0?")
        return Reply("total 0.00" if wrong else "total 12.50")

    monkeypatch.setenv("SIM_KEY", "sk-sim-media-test")
    with LoopbackServer(worse) as server:
        make_project(pytester, server, "openai", count=8)
        result = pytester.runpytest(
            "--modelguard-record=once", "-p", "no:cacheprovider",
            "--modelguard-json=r.json", "--modelguard-html=r.html",
        )  # fmt: skip
    image = (pytester.path / "img" / "r1.png").read_bytes()
    import base64
    import hashlib

    digest = hashlib.sha256(image).hexdigest()
    result.stdout.fnmatch_lines([
        "*r1  1.00 → 0.00*", f"      inputs:    [image r1.png 9×6 {digest[:4]}…]",
    ])  # fmt: skip
    doc = json.loads((pytester.path / "r.json").read_text())
    case = next(c for c in doc["cases"] if c["id"] == "r1" and c["model"] == "sim:cand-1")
    (shown,) = case["inputs"]
    assert (shown["sha256"], shown["path"], shown["name"]) == (digest, "img/r1.png", "r1.png")
    assert (shown["width"], shown["height"], shown["bytes"]) == (9, 6, len(image))
    assert "thumbnail" not in shown and "data" not in shown  # the bytes: once, by digest
    url = "data:image/png;base64," + base64.b64encode(image).decode()
    assert doc["thumbnails"][digest] == url
    html = (pytester.path / "r.html").read_text()
    assert html.count(url) == 1


def test_the_vision_example_replays_offline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/vision (answers recorded from the loopback simulator) runs from its cache."""
    import shutil

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    example = ROOT / "examples" / "vision"
    shutil.copytree(example, pytester.path, dirs_exist_ok=True)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["*18/18 answers (18 cached, 0 new, 0 failed)*"])
    image = (example / "receipts" / "r1.png").read_bytes()
    import base64

    stored = "".join(p.read_text() for p in (example / ".modelguard").rglob("*.json"))
    assert base64.b64encode(image).decode()[:24] not in stored


@pytest.mark.parametrize("include", [True, False])
def test_a_judge_with_include_inputs_receives_the_cases_images(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, include: bool
) -> None:
    def respond(call: Call) -> Reply:
        return Reply("Reads it right.\nSCORE: 5" if call.model == "judge-1" else "total 12.50")

    monkeypatch.setenv("SIM_KEY", "sk-sim-media-test")
    with LoopbackServer(respond) as server:
        make_project(pytester, server, "anthropic", count=2)
        suite = pytester.path / "receipts.modelguard.yaml"
        judge = {"llm_judge": {"rubric": "Is the total the one on the receipt?",
                               "model": "sim:judge-1", "include_inputs": include}}  # fmt: skip
        document = json.loads(suite.read_text())
        document["defaults"]["graders"] = [judge]
        suite.write_text(json.dumps(document))
        assert run(pytester).ret == pytest.ExitCode.OK
    judged = [call for call in server.calls if call.model == "judge-1"]
    assert len(judged) == 2  # one per case: both models gave the same answer
    for call in judged:
        n = int(call.messages[-1]["content"].split("receipt ")[1][0])
        image = (pytester.path / "img" / f"r{n}.png").read_bytes()
        assert [m.data for m in call.media] == ([image] if include else [])
        assert f"[image r{n}.png {8 + n}×6 " in call.messages[-1]["content"]
