"""Content parts in suites, in-process: files read like ``$ref`` (inside the project, size
limited), types sniffed from magic bytes, hostile inputs refused with file:line, requests
keyed by digest, and each wire format's blocks."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import struct
from pathlib import Path
from typing import Any

import pytest
from loopback_media import png

from pytest_modelguard.core.errors import SuiteError
from pytest_modelguard.engine.providers.media import (
    anthropic_content,
    openai_content,
    parts_problem,
    responses_content,
)
from pytest_modelguard.records.calls import Request, prompt_key
from pytest_modelguard.records.parts import (
    MAX_MEDIA_BYTES,
    byte_part,
    image_size,
    part_label,
    sniff,
)
from pytest_modelguard.suite.schema import load_suite

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(20)
GIF = b"GIF89a" + struct.pack("<HH", 33, 17) + bytes(20)
WEBP = b"RIFF\x20\x00\x00\x00WEBPVP8 " + bytes(20)


def jpeg(width: int, height: int) -> bytes:
    """A JPEG's header up to its frame: SOI, an APP0 segment, SOF0 with the size."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + bytes(9)
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + bytes(3)
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def project(
    tmp_path: Path, part: Any, role: str = "user", files: dict[str, bytes] | None = None
) -> Path:
    for name, data in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    suite = {
        "defaults": {"graders": ["equals"]},
        "cases": [{"id": "c1", "messages": [{"role": role, "content": [
            {"type": "text", "text": "read this"}, part]}]}],
    }  # fmt: skip
    path = tmp_path / "s.modelguard.yaml"
    path.write_text(json.dumps(suite, indent=1))
    return path


def load(tmp_path: Path, part: Any, **kwargs: Any) -> dict[str, Any]:
    suite = load_suite(project(tmp_path, part, **kwargs), tmp_path)
    return dict(suite.cases[0].messages[0]["content"][1])


def refused(tmp_path: Path, part: Any, **kwargs: Any) -> str:
    with pytest.raises(SuiteError) as info:
        load(tmp_path, part, **kwargs)
    return str(info.value)


@pytest.mark.parametrize(
    ("data", "media_type", "size"),
    [
        (png(64, 48), "image/png", (64, 48)),
        (jpeg(640, 480), "image/jpeg", (640, 480)),
        (GIF, "image/gif", (33, 17)),
        (WEBP, "image/webp", None),
        (WAV, "audio/wav", None),
        (MP3, "audio/mpeg", None),
        (PDF, "application/pdf", None),
        (b"hello", None, None),
    ],
)
def test_types_are_sniffed_and_sizes_read_from_headers(
    data: bytes, media_type: str | None, size: tuple[int, int] | None
) -> None:
    assert sniff(data) == media_type
    assert image_size(data) == size


def test_an_image_file_becomes_a_part_with_its_digest_bytes_and_size(tmp_path: Path) -> None:
    image = png(64, 48)
    part = load(tmp_path, {"type": "image", "path": "img/receipt.png"},
                files={"img/receipt.png": image})  # fmt: skip
    assert part["sha256"] == hashlib.sha256(image).hexdigest()
    assert base64.b64decode(part["data"]) == image
    assert (part["media_type"], part["width"], part["height"]) == ("image/png", 64, 48)
    assert (part["name"], part["path"]) == ("receipt.png", "img/receipt.png")
    assert part_label(part) == f"[image receipt.png 64×48 {part['sha256'][:4]}…]"


TINY = png(2, 2)
IMG = {"type": "image"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize(
    ("part", "files", "words"),
    [
        ({**IMG, "path": "nope.png"}, {}, "file 'nope.png' not found"),
        ({**IMG, "path": "img"}, {"img/x.png": TINY}, "not a regular file (a directory)"),
        ({**IMG, "path": "x.png"}, {"x.png": b"hello"}, "not a type modelguard knows"),
        ({**IMG, "path": "x.jpg"}, {"x.jpg": TINY}, "is a PNG by its content, but its name says"),
        ({**IMG, "path": "x.pdf"}, {"x.pdf": PDF}, "is a PDF by its name, not an image"),
        ({"type": "audio", "path": "x.png"}, {"x.png": TINY}, "use type: image"),
        ({"type": "file", "path": "c.pdf", "media_type": "image/png"}, {}, "is not a file type"),
        ({**IMG, "data": "!!notbase64!!", "media_type": "image/png"}, {}, "is not valid base64"),
        ({**IMG, "data": b64(TINY)}, {}, "inline data needs its media_type"),
        ({**IMG, "data": b64(PDF), "media_type": "image/png"}, {}, "is a PDF by its content"),
        ({**IMG, "path": "x.png", "url": "https://e.com/x"}, {}, "exactly one of path, url or"),
        ({"type": "video", "path": "x.mp4"}, {}, "unknown part type 'video'"),
        ({**IMG, "file": "x.png"}, {}, "unknown key in an image part"),
        ({**IMG, "path": "x.png", "media_type": "image/tiff"}, {}, "'image/tiff' is not an image"),
        ({"type": "text", "text": "bad \ud800 half"}, {}, "invalid Unicode character escape"),
        ({**IMG, "url": "http://e.com/x.png"}, {}, "scheme 'http'"),
        ({**IMG, "url": "file:///etc/passwd"}, {}, "scheme 'file'"),
        ({**IMG, "url": "ftp://e.com/x.png"}, {}, "scheme 'ftp'"),
        ({**IMG, "path": "../outside.png"}, {}, "is outside the project"),
        ({**IMG, "path": "https://e.com/x.png"}, {}, "is a URL"),
        ({**IMG, "path": 3}, {}, "must be a file's path"),
        ("img.png", {}, "a part is a mapping with a type"),
    ],
)  # fmt: skip
def test_hostile_parts_are_refused_naming_file_line_and_key(
    tmp_path: Path, part: Any, files: dict[str, bytes], words: str
) -> None:
    message = refused(tmp_path, part, files=files)
    assert message.startswith("s.modelguard.yaml:"), message
    line = int(message.split(":")[1])
    assert line > 1  # the line of the part (or its message), not of the file
    assert words in message, message


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    with open(tmp_path / "big.png", "wb") as handle:  # sparse: nothing written
        handle.truncate(MAX_MEDIA_BYTES + 1)
    message = refused(tmp_path, {"type": "image", "path": "big.png"})
    assert "the limit is 20 MB" in message


def test_a_symlink_leading_outside_the_project_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.png"
    outside.write_bytes(png(2, 2))
    inside = tmp_path / "p"
    inside.mkdir()
    (inside / "link.png").symlink_to(outside)
    with pytest.raises(SuiteError, match="is outside the project"):
        load_suite(project(inside, {"type": "image", "path": "link.png"}), inside)


def test_media_go_only_in_user_messages(tmp_path: Path) -> None:
    part = {"type": "image", "path": "x.png"}
    message = refused(tmp_path, part, role="system", files={"x.png": png(2, 2)})
    assert "an image part goes in a user message, not 'system'" in message


def test_a_prompt_may_be_a_list_of_parts_and_urls_are_kept(tmp_path: Path) -> None:
    suite = {
        "defaults": {"graders": ["equals"]},
        "cases": [{"id": "c1", "prompt": [
            {"type": "image", "url": "https://example.com/r.png"},
            {"type": "image", "url": "data:image/png;base64," + b64(png(3, 2))},
        ]}],
    }  # fmt: skip
    (tmp_path / "s.modelguard.yaml").write_text(json.dumps(suite))
    (case,) = load_suite(tmp_path / "s.modelguard.yaml", tmp_path).cases
    url, inline = case.messages[0]["content"]
    assert {k: url[k] for k in ("type", "url")} == {
        "type": "image",
        "url": "https://example.com/r.png",
    }
    assert Request("o", "m", case.messages).canonical()["messages"][0]["content"][0] == {
        "type": "image", "url": "https://example.com/r.png"}  # fmt: skip
    assert (inline["width"], inline["height"], inline["media_type"]) == (3, 2, "image/png")


def _messages(data: bytes, name: str = "a.png", path: str = "img/a.png") -> tuple[Any, ...]:
    part = byte_part("image", data, "image/png", name=name, path=path)
    return ({"role": "user", "content": [{"type": "text", "text": "hi"}, part]},)


def test_requests_are_keyed_by_the_bytes_not_the_path() -> None:
    image = png(4, 4)
    key = Request("openai", "m", _messages(image)).key()
    assert Request("openai", "m", _messages(image, "b.png", "elsewhere/b.png")).key() == key
    changed = bytearray(image)
    changed[-13] ^= 1
    assert Request("openai", "m", _messages(bytes(changed))).key() != key
    assert prompt_key(_messages(image), {}) == prompt_key(_messages(image, "c.png", "c.png"), {})
    canonical = json.dumps(Request("openai", "m", _messages(image)).canonical())
    assert base64.b64encode(image).decode()[:20] not in canonical


def test_text_only_requests_keep_their_keys() -> None:
    """Cache keys recorded before content parts existed still match."""
    messages = ({"role": "user", "content": [{"type": "text", "text": "hi"}]},)
    assert Request("openai", "m", messages).canonical()["messages"] == [dict(messages[0])]


def test_each_wire_format_gets_its_blocks() -> None:
    pdf = byte_part("file", PDF, "application/pdf", name="contract.pdf")
    wav = byte_part("audio", WAV, "audio/wav", name="call.wav")
    image = byte_part("image", png(2, 2), "image/png")
    content = [{"type": "text", "text": "hi"}, image, pdf, wav]
    chat = openai_content(content)
    png_url = "data:image/png;base64," + image["data"]
    assert chat[1] == {"type": "image_url", "image_url": {"url": png_url}}
    assert chat[2] == {
        "type": "file",
        "file": {
            "filename": "contract.pdf",
            "file_data": "data:application/pdf;base64," + pdf["data"],
        },
    }
    assert chat[3] == {"type": "input_audio", "input_audio": {"data": wav["data"], "format": "wav"}}
    blocks = anthropic_content(content[:3])
    source = {"type": "base64", "media_type": "image/png", "data": image["data"]}
    assert blocks[1] == {"type": "image", "source": source}
    assert blocks[2]["type"] == "document"
    items = responses_content(content[:3], "user")
    assert [item["type"] for item in items] == ["input_text", "input_image", "input_file"]
    with pytest.raises(ValueError, match="no audio"):
        anthropic_content(content)
    with pytest.raises(ValueError, match="no audio"):
        responses_content(content, "user")
    stored = {k: v for k, v in image.items() if k != "data"}  # read back by digest only
    with pytest.raises(ValueError, match="carries no bytes"):
        openai_content([stored])
    assert openai_content("plain") == "plain"  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "problem"),
    [("openai", None), ("python", None), ("anthropic", "Anthropic's Messages API takes no audio"),
     ("bedrock", "takes no audio"), ("openai-responses", "the Responses API takes no audio")],
)  # fmt: skip
def test_kinds_that_cannot_take_a_part_say_so(kind: str, problem: str | None) -> None:
    wav = byte_part("audio", WAV, "audio/wav", name="call.wav")
    found = parts_problem(kind, [{"role": "user", "content": [wav]}])
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found[1] and "call.wav" in found[1]


def test_audio_to_anthropic_fails_collection_naming_the_case(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", pyproject="""
[tool.modelguard]
baseline = "openai:gpt-4.1"
models = ["anthropic:claude-haiku-4-5"]
""")  # fmt: skip
    (pytester.path / "call.wav").write_bytes(WAV)
    suite = {"defaults": {"graders": ["equals"]}, "cases": [
        {"id": "call-1", "prompt": [{"type": "audio", "path": "call.wav"}]}]}  # fmt: skip
    pytester.makefile(".modelguard.yaml", calls=json.dumps(suite, indent=1))
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([
        "calls.modelguard.yaml:11: case 'call-1': the audio part call.wav cannot be sent to "
        "anthropic: Anthropic's Messages API takes no audio (anthropic:claude-haiku-4-5)"
    ])  # fmt: skip
    assert "Traceback" not in result.stdout.str()
    assert os.path.exists(pytester.path / "call.wav")


@pytest.mark.parametrize("options", [{"rubric": "Is the total right?"}, {"pairwise": True}])
def test_a_judge_sees_the_images_labelled_and_with_include_inputs_the_images_too(
    options: dict[str, Any],
) -> None:
    from pytest_modelguard.grading import build_grader
    from pytest_modelguard.records.grades import Answer, GraderSpec

    image = byte_part("image", png(6, 4), "image/png", name="receipt.png", path="receipt.png")
    question = ({"role": "user", "content": [{"type": "text", "text": "Total?"}, image]},)
    answer = Answer("12.50", baseline_output="12.00", case_id="r1")
    label = f"[image receipt.png 6×4 {image['sha256'][:4]}…]"
    for include in (False, True):
        judge = build_grader(GraderSpec("llm_judge", {**options, "include_inputs": include}))
        calls = judge.calls(answer, question)  # type: ignore[attr-defined]
        for call in calls:
            content = call.messages[1]["content"]
            if not include:
                assert isinstance(content, str) and label in content
                continue
            text, sent = content
            assert label in text["text"] and sent == image
            request = Request("openai", "judge", call.messages)
            assert image["data"] not in json.dumps(request.canonical())


def test_the_spend_estimate_counts_an_image_by_its_size_not_its_base64() -> None:
    from pytest_modelguard.engine.spend import estimated_input_tokens

    text = {"role": "user", "content": [{"type": "text", "text": "Total?"}]}
    plain = estimated_input_tokens(Request("openai", "m", (text,)))
    big = {**byte_part("image", png(640, 480), "image/png"), "data": "A" * 4_000_000}
    with_image = {"role": "user", "content": [{"type": "text", "text": "Total?"}, big]}
    assert estimated_input_tokens(Request("openai", "m", (with_image,))) == plain + 410
    unknown = {k: v for k, v in big.items() if k not in ("width", "height")}
    message = {"role": "user", "content": [{"type": "text", "text": "Total?"}, unknown]}
    assert estimated_input_tokens(Request("openai", "m", (message,))) == plain + 2_500


def test_the_label_sheet_shows_an_image_by_its_label_not_its_bytes(tmp_path: Path) -> None:
    from pytest_modelguard.report.labelling import _prompts

    path = project(tmp_path, {"type": "image", "path": "r.png"}, files={"r.png": png(5, 3)})
    ((_, shown),) = _prompts({"s": path}, tmp_path).items()
    assert shown.startswith("read this\n[image r.png 5×3 ") and shown.endswith("…]\n")


def test_a_stored_report_whose_inputs_are_not_parts_is_refused(tmp_path: Path) -> None:
    from pytest_modelguard.core.errors import HistoryError
    from pytest_modelguard.verdict.run_schema import VERSION, read_report

    case = {"suite": "s", "id": "c1", "model": "m", "inputs": "receipt.png"}
    (tmp_path / "r.json").write_text(json.dumps({"version": VERSION, "cases": [case]}))
    with pytest.raises(HistoryError, match=r"cases\[0\].*inputs.*a list of parts"):
        read_report(tmp_path / "r.json")
    case["inputs"] = [{"type": "image", "sha256": "ab", "label": "[image r.png]"}]
    (tmp_path / "r.json").write_text(json.dumps({"version": VERSION, "cases": [case]}))
    assert read_report(tmp_path / "r.json")["cases"][0]["inputs"] == case["inputs"]


def test_the_html_report_shows_small_images_as_thumbnails_and_nothing_else(
    tmp_path: Path,
) -> None:
    """In headless Chromium: the case's image as an <img> of its data URL; an image over
    the thumbnail size, or a doc whose thumbnail is not an image data URL, by its label."""
    import shutil
    import subprocess

    from pytest_modelguard.config import ModelSpec, ProviderSpec, Settings
    from pytest_modelguard.records.results import ItemResult
    from pytest_modelguard.report.html import render_html
    from pytest_modelguard.report.json_report import build_json
    from pytest_modelguard.suite.media import inputs_of
    from pytest_modelguard.verdict.gate import GateConfig, evaluate

    chromium = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    if chromium is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    small = byte_part("image", png(4, 3), "image/png", name="small.png")
    large = byte_part("image", png(200, 200), "image/png", name="large.png")
    hostile = byte_part("image", png(5, 5, seed=9), "image/png", name="hostile.png")
    assert large["bytes"] > 48 * 1024  # a gradient PNG this size does not compress much
    content = [{"type": "text", "text": "which?"}, small, large, hostile]
    inputs = inputs_of([{"role": "user", "content": content}])
    results = [ItemResult("s", "c1", model, score=1.0, passed=True, inputs=inputs)
               for model in ("base", "cand")]  # fmt: skip
    spec = ProviderSpec("openai", "openai")
    settings = Settings(baseline=ModelSpec("base", spec, "base"),
                        candidates=(ModelSpec("cand", spec, "cand"),), resamples=100)  # fmt: skip
    report = evaluate(results, GateConfig(baseline="base", candidates=("cand",), resamples=100))
    doc = json.loads(json.dumps(build_json(report, results, settings)))
    assert set(doc["thumbnails"]) == {small["sha256"], hostile["sha256"]}
    doc["thumbnails"][hostile["sha256"]] = "javascript:alert(1)//data:image/png;base64,"
    page = tmp_path / "r.html"
    page.write_text(render_html(doc), encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom"]  # fmt: skip
    dom = subprocess.run([chromium, *flags, page.as_uri()], capture_output=True, text=True,
                         timeout=180, check=True).stdout  # fmt: skip
    images = re.findall(r'<img class="thumb" src="([^"]*)"', dom)
    assert images == ["data:image/png;base64," + small["data"]]
    assert f"[image large.png 200×200 {large['sha256'][:4]}…]" in dom
    assert f"[image hostile.png 5×5 {hostile['sha256'][:4]}…]" in dom
    assert "javascript:" not in dom.replace(doc["thumbnails"][hostile["sha256"]], "")
